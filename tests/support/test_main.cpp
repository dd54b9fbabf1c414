// main() of every doctest suite: the line reporter unless told otherwise.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

int main(int argc, char **argv)
{
    doctest::Context context;
    context.setOption("reporters", "lines");
    context.applyCommandLine(argc, argv);
    return context.run();
}
