#include "fixture.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <stdexcept>
#include <sys/stat.h>

namespace cgfence::test {

int cgfencectl(const std::string &pin_dir, std::vector<std::string> args, const std::string &binary)
{
    args.insert(args.begin(), {binary, "--pin-dir", pin_dir});
    return run_program(args);
}

const std::string &suite_pin_dir()
{
    static const std::string dir = "/sys/fs/bpf/cgfence-kernel-tests";
    return dir;
}

const PinnedMaps &suite_maps()
{
    static PinnedMaps maps = [] {
        if (cgfencectl(suite_pin_dir(), {"load"}) != 0)
            throw std::runtime_error("cgfencectl load failed");
        auto opened = PinnedMaps::open(PinLayout{suite_pin_dir()});
        if (!opened)
            throw std::runtime_error(opened.error().message());
        return std::move(*opened);
    }();
    return maps;
}

Container::Container(const std::string &name, const ContainerPolicy &policy, const PinnedMaps &maps)
    : cgroup_(name), maps_(maps)
{
    replace(policy);
}

void Container::replace(const ContainerPolicy &policy) const
{
    ContainerPolicy armable = policy;
    // Its tasks arm in the test's own mount namespace, as a container's in its.
    struct stat mnt_ns {};
    if (::stat("/proc/self/ns/mnt", &mnt_ns) != 0)
        throw std::runtime_error("stat /proc/self/ns/mnt failed");
    armable.view_mnt_ns = mnt_ns.st_ino;
    const ObjectKey arming = key_of(arming_file());
    armable.rules.try_emplace(PolicyKey{CGFENCE_KEY_INODE, arming.dev, arming.ino},
                              PolicyRule{X, 0});
    auto status = publish_policy(maps_, cgroup_.id(), armable);
    if (!status)
        throw std::runtime_error(status.error().message());
}

Container::~Container()
{
    (void)withdraw_policy(maps_, cgroup_.id());
}

PolicyBuilder &rule(PolicyBuilder &builder, const std::filesystem::path &path, uint8_t access,
                    bool recursive)
{
    const ObjectKey key = key_of(path);
    return builder.inode_rule(key.dev, key.ino, access, recursive);
}

namespace {

int collect(void *context, void *data, size_t size)
{
    auto *events = static_cast<std::vector<cgfence_event> *>(context);
    if (size >= sizeof(cgfence_event))
        events->push_back(*static_cast<cgfence_event *>(data));
    return 0;
}

} // namespace

std::vector<cgfence_event> take_events(uint64_t cgroup_id)
{
    std::vector<cgfence_event> all;
    ring_buffer *ring = ring_buffer__new(suite_maps().events.get(), collect, &all, nullptr);
    if (!ring)
        throw std::runtime_error("ring_buffer__new failed");
    while (ring_buffer__consume(ring) > 0) {
    }
    ring_buffer__free(ring);
    std::vector<cgfence_event> mine;
    for (const auto &e : all) {
        if (e.container == cgroup_id)
            mine.push_back(e);
    }
    return mine;
}

} // namespace cgfence::test
