// doctest reporter for cgfence's suites: one line per test case,
// "PASS name", "FAIL name" or "SKIP name: reason", which tests/run.sh counts,
// with each failed assertion shown above its FAIL line.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "skip.hpp"

namespace cgfence::test {
namespace {

std::string skip_reason;
std::mutex output;

struct LineReporter : public doctest::IReporter {
    explicit LineReporter(const doctest::ContextOptions &) {}

    void report_query(const doctest::QueryData &) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats &stats) override
    {
        std::printf("# %u passed, %u failed\n",
                    stats.numTestCasesPassingFilters - stats.numTestCasesFailed,
                    stats.numTestCasesFailed);
        std::fflush(stdout);
    }
    void test_case_start(const doctest::TestCaseData &data) override
    {
        name_ = prefix() + data.m_name;
        skip_reason.clear();
    }
    void test_case_reenter(const doctest::TestCaseData &) override {}
    void test_case_end(const doctest::CurrentTestCaseStats &stats) override
    {
        std::lock_guard lock(output);
        if (stats.failure_flags != 0 || stats.numAssertsFailedCurrentTest > 0)
            std::printf("FAIL %s\n", name_.c_str());
        else if (!skip_reason.empty())
            std::printf("SKIP %s: %s\n", name_.c_str(), skip_reason.c_str());
        else
            std::printf("PASS %s (%.2fs)\n", name_.c_str(), stats.seconds);
        std::fflush(stdout);
    }
    void test_case_exception(const doctest::TestCaseException &e) override
    {
        std::lock_guard lock(output);
        std::printf("  %s: exception: %s\n", name_.c_str(), e.error_string.c_str());
    }
    void subcase_start(const doctest::SubcaseSignature &) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData &a) override
    {
        if (!a.m_failed)
            return;
        std::lock_guard lock(output);
        std::printf("  %s:%d: %s failed: %s%s%s\n", a.m_file, a.m_line, a.m_expr,
                    a.m_decomp.c_str(), a.m_exception.size() ? " exception: " : "",
                    a.m_exception.c_str());
    }
    void log_message(const doctest::MessageData &m) override
    {
        std::lock_guard lock(output);
        std::printf("  %s:%d: %s\n", m.m_file, m.m_line, m.m_string.c_str());
    }
    void test_case_skipped(const doctest::TestCaseData &) override {}

  private:
    static std::string prefix()
    {
        const char *suite = std::getenv("CGFENCE_SUITE_PREFIX");
        return suite ? std::string(suite) + "/" : "";
    }
    std::string name_;
};

REGISTER_REPORTER("lines", 1, LineReporter);

} // namespace

void mark_skipped(const std::string &reason)
{
    skip_reason = reason;
    std::fflush(stdout);
}

} // namespace cgfence::test
