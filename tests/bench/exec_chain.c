/*
 * The small static binary of the execve benchmark: `exec_chain N` executes
 * itself with N-1 until N is 0, then exits 0. A chain of execs in one process
 * measures execve alone, without a fork and wait per exec; no libc, so what
 * is timed is the kernel's work, not a C runtime's start-up. Exits 100 + errno
 * when an exec fails. x86_64 Linux only, like the VM that runs it.
 */
#include <asm/unistd.h>

static long syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static __attribute__((noreturn)) void exit_with(long code)
{
    for (;;)
        syscall3(__NR_exit, code, 0, 0);
}

__attribute__((noreturn, used)) void chain_main(long *stack)
{
    const long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;

    if (argc < 2)
        exit_with(2);
    unsigned long n = 0;
    for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (unsigned long)(*p - '0');
    if (n == 0)
        exit_with(0);
    n--;
    /* N-1 written back to front into a buffer of its own */
    char digits[24];
    char *d = digits + sizeof(digits) - 1;
    *d = 0;
    do {
        *--d = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    char *next[] = {argv[0], d, 0};
    long ret = syscall3(__NR_execve, (long)argv[0], (long)next, (long)envp);
    exit_with(100 - ret); /* ret is -errno */
}

/* The entry point: the stack holds argc, argv and envp; align it for the call. */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call chain_main\n");
