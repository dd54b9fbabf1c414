#include "policy_compiler.hpp"

#include <cerrno>
#include <filesystem>
#include <set>

#include "log.hpp"

namespace cgfence {
namespace {

// A rule path that does not exist in the view (or cannot exist: a loop, a
// file where a directory is needed) is skipped; anything else is an error.
bool missing(int errnum)
{
    // ENAMETOOLONG: an image's symlink whose target has a component longer
    // than NAME_MAX leads nowhere, as a dangling one does (found by fuzzing).
    return errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP || errnum == ENAMETOOLONG;
}

// Splits at `separator`; a backslash escapes the next character (overlayfs
// shows a ':' or ',' in a layer path as "\:" or "\,"), kept unless `unescape`.
std::vector<std::string> split(const std::string &text, char separator, bool unescape)
{
    std::vector<std::string> parts;
    std::string part;
    for (size_t i = 0; i < text.size(); i++) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            if (!unescape)
                part += text[i];
            part += text[++i];
        } else if (text[i] == separator) {
            parts.push_back(part);
            part.clear();
        } else {
            part += text[i];
        }
    }
    if (!part.empty())
        parts.push_back(part);
    return parts;
}

std::string unescaped(const std::string &text)
{
    std::string out;
    for (size_t i = 0; i < text.size(); i++)
        out += (text[i] == '\\' && i + 1 < text.size()) ? text[++i] : text[i];
    return out;
}

// The nearest recursive rule enclosing `path`'s mount point (its parent and
// up), by inode, so symlinked rule paths count where they point.
Result<std::optional<PolicyRule>>
enclosing_rule(const ContainerView &view, const ContainerPolicy &policy, const std::string &path)
{
    std::filesystem::path p(path);
    while (p.has_relative_path()) {
        p = p.parent_path();
        auto key = view.key(p.string());
        if (!key) {
            if (missing(key.error().errnum))
                continue;
            return key.error();
        }
        auto it = policy.rules.find(PolicyKey{CGFENCE_KEY_INODE, key->dev, key->ino});
        if (it != policy.rules.end() && !(it->second.flags & CGFENCE_RULE_NONRECURSIVE))
            return std::optional<PolicyRule>(it->second);
    }
    return std::optional<PolicyRule>();
}

// The directories between each restrictive rule's object (one that takes a
// right away from what encloses it) and its mount's root: the kernel keeps a
// confined task from renaming them, so the object stays at the path its rule
// names. `resolved`: each path rule the compiler found, with its object.
struct ResolvedRule {
    const ProfileRule *rule;
    ObjectKey object;
};

Status hold_restrictive_rules(const std::vector<ResolvedRule> &resolved, const ContainerView &view,
                              const ContainerPolicy &rules, PolicyBuilder &builder)
{
    std::set<std::string> held;
    for (const auto &[rule_ptr, object] : resolved) {
        const ProfileRule &rule = *rule_ptr;
        auto enclosing = enclosing_rule(view, rules, rule.path);
        if (!enclosing)
            return enclosing.error();
        const uint8_t around = *enclosing ? (*enclosing)->access : rules.settings.default_access;
        if (!(around & ~rule.access))
            continue;
        for (auto dir = std::filesystem::path(rule.path).parent_path(); dir.has_relative_path();
             dir = dir.parent_path()) {
            if (!held.insert(dir.string()).second)
                break; // it and what holds it are done
            auto key = view.key(dir.string());
            if (!key) {
                if (missing(key.error().errnum))
                    continue;
                return key.error();
            }
            if (key->mount_id != object.mount_id)
                break; // another mount: its root cannot be renamed
            builder.rule_holder(key->dev, key->ino);
        }
    }
    return {};
}

std::set<uint64_t> fstype_magics(const Profile &profile)
{
    std::set<uint64_t> magics;
    for (const ProfileRule &r : profile.rules) {
        if (!r.fs.empty())
            magics.insert(r.fs_magic);
    }
    return magics;
}

// Does a filesystem-type rule cover this mount? By magic, as the kernel sees
// it (a devtmpfs is a tmpfs superblock).
bool fstype_rule_covers(const std::set<uint64_t> &magics, const MountEntry &mount)
{
    const std::optional<uint64_t> magic = filesystem_magic(mount.fstype);
    return magic && magics.contains(*magic);
}

} // namespace

uint8_t kernel_mode(ProfileMode mode)
{
    switch (mode) {
    case ProfileMode::audit:
        return CGFENCE_MODE_AUDIT;
    case ProfileMode::learn:
        return CGFENCE_MODE_LEARN;
    case ProfileMode::enforce:
        break;
    }
    return CGFENCE_MODE_ENFORCE;
}

std::vector<std::string> overlay_layers(const std::string &super_options)
{
    std::vector<std::string> layers;
    std::string upper;
    for (const std::string &option : split(super_options, ',', false)) {
        const size_t equals = option.find('=');
        if (equals == std::string::npos)
            continue;
        const std::string name = option.substr(0, equals);
        const std::string value = option.substr(equals + 1);
        if (name == "lowerdir") {
            for (const std::string &dir : split(value, ':', true))
                layers.push_back(dir);
        } else if (name == "lowerdir+" || name == "datadir+" || name == "workdir") {
            layers.push_back(unescaped(value));
        } else if (name == "upperdir") {
            upper = unescaped(value);
            layers.push_back(upper);
        }
    }
    const std::filesystem::path storage = std::filesystem::path(upper).parent_path().parent_path();
    for (std::string &layer : layers) {
        if (!layer.empty() && layer[0] != '/' && !upper.empty())
            layer = (storage / layer).string();
    }
    return layers;
}

Result<CompiledPolicy> compile_policy(const Profile &profile, const ContainerView &view,
                                      const CompileOptions &options)
{
    CompiledPolicy out;
    out.mode = options.mode.value_or(profile.mode);
    PolicyBuilder builder(kernel_mode(out.mode), profile.default_allow ? CGFENCE_ACCESS_ALL : 0);
    builder.event_rate(options.events_per_sec, options.events_burst);

    std::vector<ResolvedRule> resolved;
    for (const ProfileRule &rule : profile.rules) {
        if (!rule.fs.empty()) {
            builder.fstype_rule(rule.fs_magic, rule.access);
            continue;
        }
        auto key = view.key(rule.path);
        if (!key) {
            if (!missing(key.error().errnum))
                return key.error();
            out.skipped.push_back(rule.path);
            log::debug("rule " + rule.path + " skipped: " + key.error().message());
            continue;
        }
        builder.inode_rule(key->dev, key->ino, rule.access, rule.recursive,
                           rule_path_id(rule.path));
        resolved.push_back({&rule, *key});
        out.rules_resolved++;
    }

    const ContainerPolicy so_far = builder.build();
    if (auto s = hold_restrictive_rules(resolved, view, so_far, builder); !s)
        return s.error();

    // Carry rules to the mounts' roots: the kernel's walk stops at each.
    const std::set<uint64_t> fs_rules = fstype_magics(profile);
    for (const ViewMount &mount : view.mounts()) {
        auto root = view.key(mount.path);
        if (!root) {
            if (missing(root.error().errnum))
                continue; // covered by a later mount, or gone
            return root.error();
        }
        std::optional<PolicyRule> enclosing;
        // A filesystem-type rule for this mount's type beats what encloses it.
        if (mount.path != "/" && !fstype_rule_covers(fs_rules, *mount.entry)) {
            auto found = enclosing_rule(view, so_far, mount.path);
            if (!found)
                return found.error();
            enclosing = *found;
        }
        builder.mount_root(root->dev, root->ino, enclosing ? &*enclosing : nullptr);
    }

    // The container's "/" ends every walk even where the rootfs is a plain
    // directory, not a mount: nothing above it is the container's.
    auto root = view.key("/");
    if (!root)
        return root.error();
    builder.mount_root(root->dev, root->ino, nullptr);

    // The layers pass only their own overlay's work: the one at the container's "/".
    if (options.overlay_layers) {
        for (const PolicyKey &layer : *options.overlay_layers)
            builder.overlay_layer(layer.dev, layer.ino, root->dev);
    } else if (const MountEntry *rootfs = view.rootfs_mount();
               rootfs && rootfs->fstype == "overlay") {
        for (const std::string &layer : overlay_layers(rootfs->super_options)) {
            auto key = view.host_key(layer);
            if (!key)
                return Error{"open overlay layer", layer, key.error().errnum,
                             "the rootfs's layers must be reachable to keep overlayfs working"};
            builder.overlay_layer(key->dev, key->ino, root->dev);
        }
    }
    out.policy = builder.build();
    return out;
}

} // namespace cgfence
