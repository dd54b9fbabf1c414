// main() of every doctest suite: the line reporter unless told otherwise, and
// only the tests that mean something where the suite runs (placement.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <string_view>

#include "placement.hpp"

int main(int argc, char **argv)
{
    doctest::Context context;
    context.setOption("reporters", "lines");
    const char *in_vm = std::getenv("CGFENCE_IN_VM");
    context.addFilter("test-suite-exclude", in_vm != nullptr && std::string_view(in_vm) == "1"
                                                ? cgfence::test::kHostOnly
                                                : cgfence::test::kVmOnly);
    context.applyCommandLine(argc, argv);
    return context.run();
}
