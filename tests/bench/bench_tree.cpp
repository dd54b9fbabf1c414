#include "bench_tree.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/mount.h>

namespace fs = std::filesystem;

namespace cgfence::bench {

Mount::Mount(const std::string &source, const fs::path &target, const std::string &type,
             const std::string &options)
    : target_(target)
{
    fs::create_directories(target);
    if (::mount(source.c_str(), target.c_str(), type.c_str(), 0, options.c_str()) != 0)
        throw std::runtime_error("mount " + type + " on " + target.string() + ": " +
                                 std::strerror(errno));
}

Mount::~Mount()
{
    ::umount2(target_.c_str(), MNT_DETACH);
}

namespace {

// Far above any inode number a fresh tmpfs hands out: filler rules that
// never match, only fill the container's rule map to its profile's size.
constexpr uint64_t kFillerInode = uint64_t{1} << 40;

fs::path at_depth(const fs::path &root, Expect expect, int depth)
{
    fs::path p = root / (expect == Expect::allow ? "allow" : "deny");
    for (int level = 2; level < depth; level++)
        p /= "l" + std::to_string(level);
    return p / "prog";
}

void plant(const fs::path &root, const fs::path &binary, const std::vector<int> &depths)
{
    for (const Expect expect : {Expect::allow, Expect::deny}) {
        for (const int depth : depths) {
            const fs::path file = at_depth(root, expect, depth);
            fs::create_directories(file.parent_path());
            fs::copy_file(binary, file, fs::copy_options::overwrite_existing);
            fs::permissions(file, fs::perms::owner_all | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read |
                                      fs::perms::others_exec);
        }
    }
}

} // namespace

BenchTree::BenchTree(const fs::path &binary, const std::vector<int> &depths)
    : tmpfs_(dir_ / "tmpfs"), lower_(dir_ / "lower"), layers_(dir_ / "layers"),
      merged_(dir_ / "merged")
{
    for (const auto &mount : {tmpfs_, lower_, layers_})
        mounts_.push_back(std::make_unique<Mount>("tmpfs", mount, "tmpfs", "mode=0755"));
    plant(tmpfs_, binary, depths);
    plant(lower_, binary, depths);
    fs::create_directories(layers_ / "upper");
    fs::create_directories(layers_ / "work");
    test::run_program({"modprobe", "-q", "overlay"}, true);
    const std::string options = "lowerdir=" + lower_.string() +
                                ",upperdir=" + (layers_ / "upper").string() +
                                ",workdir=" + (layers_ / "work").string();
    mounts_.push_back(std::make_unique<Mount>("overlay", merged_, "overlay", options));
}

fs::path BenchTree::file(Fs where, int depth, Expect expect) const
{
    return at_depth(where == Fs::tmpfs ? tmpfs_ : merged_, expect, depth);
}

ContainerPolicy BenchTree::policy(size_t rules) const
{
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    const auto allow = [&](const fs::path &dir) {
        const ObjectKey key = test::key_of(dir);
        b.inode_rule(key.dev, key.ino, CGFENCE_ACCESS_READ | CGFENCE_ACCESS_EXEC);
    };
    allow(tmpfs_ / "allow");
    allow(merged_ / "allow");
    for (const auto &layer : {lower_, layers_ / "upper", layers_ / "work"}) {
        const ObjectKey key = test::key_of(layer);
        b.overlay_layer(key.dev, key.ino, test::key_of(merged_).dev);
    }
    const size_t real = b.build().rules.size();
    if (rules < real)
        throw std::runtime_error("a profile needs at least " + std::to_string(real) + " rules");
    const uint32_t dev = test::key_of(tmpfs_).dev;
    for (size_t i = 0; i < rules - real; i++)
        b.inode_rule(dev, kFillerInode + i, CGFENCE_ACCESS_READ);
    return b.build();
}

Registration::Registration(const PinnedMaps &maps, uint64_t cgroup_id,
                           const ContainerPolicy &policy)
    : maps_(maps), cgroup_id_(cgroup_id)
{
    if (auto status = publish_policy(maps, cgroup_id, policy); !status)
        throw std::runtime_error(status.error().message());
}

Registration::~Registration()
{
    (void)withdraw_policy(maps_, cgroup_id_);
}

} // namespace cgfence::bench
