// The container runtimes the suite drives: runc and crun from a bundle, and
// podman from a rootfs or an image, and a hooks.d directory. Every container is deleted at
// the end (its poststop hooks run), whatever the test found.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <sys/types.h>
#include <vector>

#include "bundle.hpp"
#include "process.hpp"
#include "sandbox.hpp"

namespace cgfence::test {

enum class Runtime { runc, crun };
const char *name_of(Runtime runtime);

// A name no other test or run uses at the same time: "cgf-<what>-<pid>".
std::string unique_name(const std::string &what);

// A cgroup parent for containers' cgroupsPath ("/<name>/<id>"), removed at
// the end from every cgroup hierarchy (v1 ones too, on a hybrid host) where a
// runtime created it.
class CgroupParent {
  public:
    explicit CgroupParent(std::string name) : name_(std::move(name)) {}
    CgroupParent(const CgroupParent &) = delete;
    CgroupParent &operator=(const CgroupParent &) = delete;
    ~CgroupParent();
    [[nodiscard]] std::string path(const std::string &id) const { return "/" + name_ + "/" + id; }

  private:
    std::string name_;
};

// What the checks need of a running container.
class RunningContainer {
  public:
    RunningContainer() = default;
    RunningContainer(const RunningContainer &) = delete;
    RunningContainer &operator=(const RunningContainer &) = delete;
    virtual ~RunningContainer() = default;

    [[nodiscard]] virtual std::string id() const = 0;
    [[nodiscard]] virtual std::string bundle() const = 0;
    [[nodiscard]] virtual pid_t pid() const = 0;
    [[nodiscard]] virtual Finished exec(const std::vector<std::string> &command) const = 0;
};

// A runc or crun container of a bundle, with its own state directory (--root).
class OciContainer : public RunningContainer {
  public:
    OciContainer(Runtime runtime, const Bundle &bundle, const std::string &what);
    ~OciContainer() override; // `delete --force` when it exists

    // `run -d`: created (prestart hooks run) and started.
    Finished run_detached();
    // `run`: to the end of its process, which prints on our pipes; then deleted by the runtime.
    Finished run_to_end();
    // SIGKILL, wait (bounded) until the runtime says "stopped", then `delete`.
    Finished stop_and_delete();
    // The status the runtime reports ("running", "stopped"), or "" when it knows no such container.
    [[nodiscard]] std::string status() const;

    [[nodiscard]] std::string id() const override { return id_; }
    [[nodiscard]] std::string bundle() const override { return bundle_; }
    [[nodiscard]] pid_t pid() const override;
    [[nodiscard]] Finished exec(const std::vector<std::string> &command) const override;
    // The same exec, started and not waited for: the caller waits.
    [[nodiscard]] Spawned spawn_exec(const std::vector<std::string> &command) const;

  private:
    [[nodiscard]] std::vector<std::string> invocation(const std::vector<std::string> &args) const;

    Runtime runtime_;
    std::string id_;
    std::string bundle_;
    TempDir state_root_;
    bool exists_ = false;
};

enum class StorageDriver { vfs, overlay };

// podman's storage, run state, network config and events in a directory of
// its own, with one storage driver: the containers made with it share its
// images. What podman leaves mounted there is unmounted at the end.
class PodmanStore {
  public:
    explicit PodmanStore(StorageDriver driver);
    PodmanStore(const PodmanStore &) = delete;
    PodmanStore &operator=(const PodmanStore &) = delete;
    ~PodmanStore();

    // podman with this store (and hooks from `hooks_dir` when not empty), then `args`.
    [[nodiscard]] std::vector<std::string>
    podman(const std::vector<std::string> &args,
           const std::filesystem::path &hooks_dir = std::filesystem::path()) const;
    // `podman import TAR NAME`: an image of one layer, the tar's files.
    void import(const std::filesystem::path &tar, const std::string &name) const;
    // The directory that holds the files of `image`'s top layer.
    [[nodiscard]] std::filesystem::path layer_dir(const std::string &image) const;

  private:
    TempDir dir_;
    StorageDriver driver_;
};

// A podman container, with hooks from `hooks_dir`, either from a rootfs
// directory (--rootfs) in a vfs store of its own, or from an image in a
// store it shares with other containers.
class PodmanContainer : public RunningContainer {
  public:
    // From a rootfs, with podman's masked and read-only paths off, so that the
    // mounts seen from inside are the mounts the hook saw at prestart.
    PodmanContainer(const std::filesystem::path &hooks_dir, const std::filesystem::path &rootfs);
    // From `image` in `store`, with podman's defaults: masked and read-only
    // paths, its seccomp profile, its default capabilities.
    PodmanContainer(const PodmanStore &store, const std::filesystem::path &hooks_dir,
                    std::string image);
    ~PodmanContainer() override; // `rm --force` when it exists

    // `podman run -d` with `options` (e.g. --annotation) and `command`.
    Finished run_detached(const std::vector<std::string> &options,
                          const std::vector<std::string> &command);
    // `podman rm --force`: stopped, poststop hooks run, removed.
    Finished remove();
    // `podman healthcheck run`: the container's --health-cmd, run once.
    [[nodiscard]] Finished healthcheck() const;
    // `podman inspect --format FORMAT`, its first line.
    [[nodiscard]] std::string inspect(const std::string &format) const;

    [[nodiscard]] std::string id() const override { return id_; }
    [[nodiscard]] std::string bundle() const override;
    [[nodiscard]] pid_t pid() const override;
    [[nodiscard]] Finished exec(const std::vector<std::string> &command) const override;

  private:
    [[nodiscard]] std::vector<std::string> podman(const std::vector<std::string> &args) const;

    std::unique_ptr<PodmanStore> own_store_; // a rootfs container's
    const PodmanStore *store_;
    std::filesystem::path hooks_dir_;
    std::filesystem::path rootfs_; // empty for a container of an image
    std::string image_;
    std::string name_;
    std::string id_;
    mutable pid_t pid_ = 0; // pid(), once asked
};

} // namespace cgfence::test
