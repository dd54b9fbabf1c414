// The container runtimes the suite drives: runc and crun from a bundle, and
// podman from a rootfs and a hooks.d directory. Every container is deleted at
// the end (its poststop hooks run), whatever the test found.
#pragma once

#include <filesystem>
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

  private:
    [[nodiscard]] std::vector<std::string> invocation(const std::vector<std::string> &args) const;

    Runtime runtime_;
    std::string id_;
    std::string bundle_;
    TempDir state_root_;
    bool exists_ = false;
};

// A podman container run from a rootfs directory (--rootfs), with hooks from
// `hooks_dir` and everything of podman's (storage, run state, network config,
// events) in a directory of its own.
class PodmanContainer : public RunningContainer {
  public:
    PodmanContainer(const std::filesystem::path &hooks_dir, const std::filesystem::path &rootfs);
    ~PodmanContainer() override; // `rm --force` when it exists

    // `podman run -d` with `options` (e.g. --annotation) and `command`.
    Finished run_detached(const std::vector<std::string> &options,
                          const std::vector<std::string> &command);
    // `podman rm --force`: stopped, poststop hooks run, removed.
    Finished remove();

    [[nodiscard]] std::string id() const override { return id_; }
    [[nodiscard]] std::string bundle() const override;
    [[nodiscard]] pid_t pid() const override;
    [[nodiscard]] Finished exec(const std::vector<std::string> &command) const override;

  private:
    [[nodiscard]] std::vector<std::string> podman(const std::vector<std::string> &args) const;
    [[nodiscard]] std::string inspect(const std::string &format) const;

    TempDir storage_;
    std::filesystem::path hooks_dir_;
    std::filesystem::path rootfs_;
    std::string name_;
    std::string id_;
};

} // namespace cgfence::test
