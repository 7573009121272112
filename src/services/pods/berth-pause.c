/*
 * berth-pause: the infra process of a Berth pod. It holds the pod's namespaces (network, IPC,
 * and PID when shared) so that members can join and leave them while the pod lives, and does
 * nothing else: a pod must not depend on an image pulled from the internet, so setup builds
 * this statically and berthd imports it as a one-file image (services/pods/infra.ts).
 *
 * As PID 1 of a shared PID namespace it reaps the orphans members leave behind; SIGTERM and
 * SIGINT end it with status 0, as Kubernetes' pause does, so `pod stop` is quick and clean.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    static const char v[] = "berth-pause 1\n";
    return write(1, v, sizeof v - 1) == (ssize_t)(sizeof v - 1) ? 0 : 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = quit;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
