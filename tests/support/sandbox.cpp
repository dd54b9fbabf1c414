#include "sandbox.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_cgroup.hpp"
#include "mountinfo.hpp"

namespace cgfence::test {
namespace fs = std::filesystem;

std::string cgroup2_mount()
{
    auto mount = cgroup2_mount_point();
    if (!mount)
        throw std::runtime_error(mount.error().message());
    return *mount;
}

TestCgroup::TestCgroup(const std::string &name)
    : path_(cgroup2_mount() + "/cgfence-test-" + name + "-" + std::to_string(::getpid()))
{
    create();
}

TestCgroup::TestCgroup(const TestCgroup &parent, const std::string &name)
    : path_(parent.path() + "/" + name)
{
    create();
}

void TestCgroup::create()
{
    if (::mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::runtime_error("mkdir " + path_ + ": " + std::strerror(errno));
    struct stat info {};
    if (::stat(path_.c_str(), &info) != 0)
        throw std::runtime_error("stat " + path_ + ": " + std::strerror(errno));
    id_ = info.st_ino; // a cgroup2 directory's inode number is its cgroup id
}

TestCgroup::~TestCgroup()
{
    // Children first, then anything still running here.
    std::error_code ec;
    for (auto it = fs::directory_iterator(path_, ec); !ec && it != fs::directory_iterator(); ++it) {
        if (it->is_directory())
            ::rmdir(it->path().c_str());
    }
    std::ifstream procs(path_ + "/cgroup.procs");
    for (pid_t pid = 0; procs >> pid;)
        ::kill(pid, SIGKILL);
    for (int attempt = 0; attempt < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; attempt++)
        ::usleep(10000);
}

namespace {

int wait_for(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

void join_cgroup(const std::string &cgroup)
{
    const std::string procs = cgroup + "/cgroup.procs";
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1)
        ::_exit(250);
    ::close(fd);
}

// The file stays for the life of the test process.
struct ArmingFile {
    fs::path path = "/tmp/cgfence-arm-" + std::to_string(::getpid());
    ArmingFile() { write_file(path, std::string(1, '\0'), 0755); }
    ~ArmingFile()
    {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

} // namespace

void exec_arming_file()
{
    const std::string path = arming_file().string();
    char *const argv[] = {const_cast<char *>(path.c_str()), nullptr};
    ::execv(path.c_str(), argv);
    if (errno != ENOEXEC && errno != EACCES)
        ::_exit(251);
}

void arm_here()
{
    exec_arming_file();
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child < 0)
        ::_exit(252);
    if (child > 0)
        ::_exit(wait_for(child));
}

const fs::path &arming_file()
{
    static const ArmingFile file;
    return file.path;
}

int run_in(const TestCgroup &cgroup, const std::function<int()> &body)
{
    arming_file();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        join_cgroup(cgroup.path());
        arm_here();
        ::_exit(body());
    }
    return wait_for(pid);
}

int run_unarmed_in(const TestCgroup &cgroup, const std::function<int()> &body)
{
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        join_cgroup(cgroup.path());
        ::_exit(body());
    }
    return wait_for(pid);
}

int run_outside(const std::function<int()> &body)
{
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(body());
    return wait_for(pid);
}

int errno_of(int result)
{
    return result < 0 ? errno : 0;
}

int open_errno(const std::string &path, int flags, mode_t mode)
{
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0)
        return errno;
    ::close(fd);
    return 0;
}

TempDir::TempDir()
{
    std::string pattern = "/tmp/cgfence-test-XXXXXX";
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    path_ = pattern;
}

TempDir::~TempDir()
{
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_file(const fs::path &path, const std::string &content, mode_t mode)
{
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out)
            throw std::runtime_error("write " + path.string());
        out << content;
    }
    ::chmod(path.c_str(), mode);
}

ObjectKey key_of(const fs::path &path)
{
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
    auto mounts = read_mountinfo();
    auto key = mounts ? object_key(fd, *mounts) : Result<ObjectKey>(mounts.error());
    ::close(fd);
    if (!key)
        throw std::runtime_error(key.error().message());
    return *key;
}

int run_program(const std::vector<std::string> &argv, bool quiet)
{
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        if (quiet) {
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
        std::vector<char *> args;
        args.reserve(argv.size() + 1);
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    return wait_for(pid);
}

} // namespace cgfence::test
