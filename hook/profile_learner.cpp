#include "profile_learner.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "abi.hpp"

namespace cgfence {
namespace {

size_t depth(const std::string &path)
{
    return path == "/" ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

std::string parent_of(const std::string &path)
{
    const size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_below(const std::string &path, const std::string &dir)
{
    if (dir == "/")
        return path != "/";
    return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
           path[dir.size()] == '/';
}

std::string rights(uint8_t access)
{
    const std::string text = access_text(access);
    return text.empty() ? "none" : text;
}

// The starting profile's rule that decides `path`, as the kernel's walk finds
// it: a rule on the path itself, else the nearest recursive rule above.
class StartRules {
  public:
    explicit StartRules(const Profile &start)
    {
        for (const ProfileRule &rule : start.rules) {
            if (rule.fs.empty())
                rules_.emplace(rule.path, &rule);
        }
    }

    [[nodiscard]] const ProfileRule *deciding(const std::string &path) const
    {
        if (auto it = rules_.find(path); it != rules_.end())
            return it->second;
        for (std::string p = path; p != "/";) {
            p = parent_of(p);
            if (auto it = rules_.find(p); it != rules_.end() && it->second->recursive)
                return it->second;
        }
        return nullptr;
    }

    // What the starting profile gives `path` (none where no rule does: the
    // learned profile's default is deny).
    [[nodiscard]] uint8_t rights_of(const std::string &path) const
    {
        const ProfileRule *rule = deciding(path);
        return rule ? rule->access : 0;
    }

  private:
    std::map<std::string, const ProfileRule *> rules_;
};

struct Node {
    uint8_t own = 0;  // rights observed on the object itself
    uint8_t made = 0; // rights used on gone files made in it
    bool is_dir = false;
    bool observed = false; // accessed itself (not only named as where gone files were)
};

class Learner {
  public:
    explicit Learner(const LearnInput &input) : in_(input), start_(input.start)
    {
        for (const ObservedAccess &access : input.observed) {
            Node &node = nodes_[access.path];
            node.own |= access.wanted;
            node.is_dir = node.is_dir || access.is_dir;
            node.observed = true;
        }
        for (const GoneAccess &gone : input.gone) {
            Node &node = nodes_[gone.dir];
            node.made |= gone.wanted;
            node.is_dir = true;
        }
    }

    LearnedProfile run()
    {
        collapse_where_names_are_made();
        collapse_mostly_used();
        std::map<std::string, ProfileRule> learned;
        add_directory_rules(learned);
        add_object_rules(learned);
        merge(learned);
        report_losses();
        return std::move(out_);
    }

  private:
    void collapse_where_names_are_made()
    {
        for (const auto &[path, node] : nodes_) {
            if (!node.is_dir || (!(node.own & CGFENCE_ACCESS_WRITE) && node.made == 0))
                continue;
            if (path == "/") {
                out_.report.push_back("/: names were made or removed there; its rule stays "
                                      "non-recursive (a recursive one would cover the whole "
                                      "tree), so a file made in / at run time will be denied");
                continue;
            }
            collapsed_[path] = {
                "names were made or removed there (w on the directory" +
                    std::string(node.made ? ", and files made there are gone" : "") +
                    "): files made at run time have no inode when a container "
                    "starts, so one recursive rule on the directory covers them",
                true};
        }
    }

    // Deepest directories first, so a subdirectory that collapsed counts as
    // used in its parent.
    void collapse_mostly_used()
    {
        std::set<std::string> dirs;
        for (const auto &[path, node] : nodes_) {
            for (std::string p = path; p != "/";) {
                p = parent_of(p);
                if (p != "/")
                    dirs.insert(p);
            }
        }
        std::vector<std::string> order(dirs.begin(), dirs.end());
        std::stable_sort(
            order.begin(), order.end(),
            [](const std::string &a, const std::string &b) { return depth(a) > depth(b); });
        for (const std::string &dir : order) {
            auto total = in_.entries.find(dir);
            if (total == in_.entries.end() || collapsed_.contains(dir))
                continue;
            std::set<std::string> used_entries;
            for (const auto &[path, node] : nodes_) {
                if (node.observed && path != "/" && parent_of(path) == dir)
                    used_entries.insert(path);
            }
            for (const auto &[path, why] : collapsed_) {
                if (parent_of(path) == dir)
                    used_entries.insert(path);
            }
            const size_t used = used_entries.size();
            if (used >= 2 && 2 * used > total->second)
                collapsed_[dir] = {std::to_string(used) + " of its " +
                                       std::to_string(total->second) +
                                       " entries were used (files written there keep rules of "
                                       "their own)",
                                   false};
        }
    }

    // Does the collapsed directory `dir` get a rule? Not below one that
    // covers it already; a directory where names were made keeps its own
    // under one that was mostly used (which does not pass on w).
    [[nodiscard]] bool ruled(const std::string &dir) const
    {
        const bool names_made = collapsed_.at(dir).names_made;
        for (std::string p = dir; p != "/";) {
            p = parent_of(p);
            auto it = collapsed_.find(p);
            if (it != collapsed_.end() && (it->second.names_made || !names_made))
                return false;
        }
        return true;
    }

    // The learned directory rule nearest above `path` (the one that decides
    // it, as the kernel's walk finds rules), if any.
    [[nodiscard]] std::optional<std::string> ruled_above(const std::string &path) const
    {
        for (std::string p = path; p != "/";) {
            p = parent_of(p);
            if (collapsed_.contains(p) && ruled(p))
                return p;
        }
        return std::nullopt;
    }

    // Is `path` covered by the directory rule on `dir`: no starting rule lies
    // between them, and it was not written below a directory that was only
    // mostly used?
    [[nodiscard]] bool covered_by(const std::string &path, const Node &node,
                                  const std::string &dir) const
    {
        const ProfileRule *rule = start_.deciding(path);
        if (rule && rule->path != dir && is_below(rule->path, dir))
            return false;
        return collapsed_.at(dir).names_made || (node.own & CGFENCE_ACCESS_WRITE) == 0;
    }

    void add_directory_rules(std::map<std::string, ProfileRule> &learned)
    {
        for (const auto &[dir, collapse] : collapsed_) {
            if (!ruled(dir))
                continue;
            uint8_t access = start_.rights_of(dir);
            for (const auto &[path, node] : nodes_) {
                const bool decided = path == dir || ruled_above(path) == dir;
                if (decided && (path == dir || covered_by(path, node, dir)))
                    access |= node.own | node.made;
            }
            learned[dir] = ProfileRule{dir, "", 0, access, true, 0};
            std::string line = dir;
            line += ": one recursive rule, " + rights(access) + ": ";
            line += collapse.why;
            out_.report.push_back(line);
        }
    }

    void add_object_rules(std::map<std::string, ProfileRule> &learned)
    {
        for (const auto &[path, node] : nodes_) {
            if (!node.observed || learned.contains(path))
                continue;
            auto above = ruled_above(path);
            if (above && covered_by(path, node, *above))
                continue;
            const uint8_t access = node.own | start_.rights_of(path);
            // A directory's own rule must not reach what lies below it.
            learned[path] = ProfileRule{path, "", 0, access, !node.is_dir, 0};
        }
    }

    // The starting rules first, in their order, widened where the learned
    // rules name the same path or filesystem; then the new rules by path.
    void merge(std::map<std::string, ProfileRule> &learned)
    {
        Profile &profile = out_.profile;
        profile.name = in_.start.name;
        profile.mode = ProfileMode::enforce;
        profile.default_allow = false;
        std::map<std::string, uint8_t> filesystems = in_.filesystems;
        size_t widened = 0;
        for (ProfileRule rule : in_.start.rules) {
            uint8_t more = 0;
            if (rule.fs.empty()) {
                if (auto it = learned.find(rule.path); it != learned.end()) {
                    more = it->second.access;
                    if (it->second.recursive && !rule.recursive) {
                        // A learned directory rule covers what lies below.
                        out_.report.push_back(rule.path +
                                              ": the starting rule made recursive (a learned "
                                              "directory rule covers what lies below it)");
                        rule.recursive = true;
                    }
                    learned.erase(it);
                }
            } else if (auto it = filesystems.find(rule.fs); it != filesystems.end()) {
                more = it->second;
                filesystems.erase(it);
            }
            if (more & ~rule.access) {
                out_.report.push_back((rule.fs.empty() ? rule.path : "fs " + rule.fs) +
                                      ": the starting rule widened from " + rights(rule.access) +
                                      " to " + rights(rule.access | more));
                rule.access |= more;
                widened++;
            }
            rule.line = 0;
            profile.rules.push_back(rule);
        }
        for (auto &[path, rule] : learned)
            profile.rules.push_back(rule);
        for (const auto &[fs, access] : filesystems) {
            profile.rules.push_back(
                ProfileRule{"", fs, filesystem_magic(fs).value_or(0), access, true, 0});
            out_.report.push_back("fs " + fs + ": " + rights(access) +
                                  ": its objects are made per process or per container (no "
                                  "stable path or inode), so a filesystem-type rule");
        }
        out_.report.insert(out_.report.begin(),
                           std::to_string(in_.start.rules.size()) + " rules kept from profile " +
                               in_.start.name + " (" + std::to_string(widened) + " widened), " +
                               std::to_string(learned.size() + filesystems.size()) +
                               " learned rules added");
    }

    void report_losses()
    {
        for (const std::string &line : in_.not_found)
            out_.report.push_back("not covered: " + line);
        if (in_.lost > 0)
            out_.report.push_back(
                std::to_string(in_.lost) +
                " accesses were not remembered (the container's bound of " +
                std::to_string(CGFENCE_MAX_LEARNED_PER_CONTAINER) + " distinct accesses, or the " +
                std::to_string(CGFENCE_MAX_LEARNED) +
                " of all learning containers, was reached): this profile is narrower than the "
                "workload");
        if (in_.walk_cut)
            out_.report.push_back("the walk of the container's files was cut short (too many "
                                  "files or levels): accesses below the cut count as gone");
    }

    const LearnInput &in_;
    StartRules start_;
    std::map<std::string, Node> nodes_;
    struct Collapse {
        std::string why;
        bool names_made = false; // else: most of it was used
    };
    std::map<std::string, Collapse> collapsed_; // directory -> why
    LearnedProfile out_;
};

} // namespace

LearnedProfile learn_profile(const LearnInput &input)
{
    return Learner(input).run();
}

} // namespace cgfence
