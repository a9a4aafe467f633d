// aetherium-sandbox-init: pid 1 of every sandbox.
//
// Keeps the sandbox's namespaces alive between commands and reaps orphans: with SIGCHLD
// ignored the kernel reaps its children at once, so zombies never pile up against the
// pids limit. Every other catchable signal is ignored too, so signals sent to "all
// processes" reach only the commands; only SIGKILL from outside ends the sandbox.
// Linked statically: it runs in any root filesystem, including ones without a libc.
#include <csignal>
#include <unistd.h>

int main() {
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) std::signal(sig, SIG_IGN);
  for (;;) ::pause();
}
