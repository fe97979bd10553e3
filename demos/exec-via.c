/* `exec-via FUNCTION PROGRAM [ARGS...]`: becomes PROGRAM through one of
 * glibc's exec functions (execve, execv, execvp, execvpe, execl, execlp,
 * execle, fexecve), after saying on stderr whether it can see anything of
 * ckpt in its environment ("clean", or the variable it sees). Chained, it
 * checks that every exec in the launched pid keeps the checkpoint working
 * while no program there sees ckpt's variables. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *seen = 0;
	for (char **e = environ; *e && !seen; e++)
		if (!strncmp(*e, "CKPT_", 5) || !strncmp(*e, "LD_PRELOAD=", 11))
			seen = *e;
	fprintf(stderr, "exec-via %s: %s%s\n", argv[1], seen ? "sees " : "clean", seen ? seen : "");
	const char *f = argv[1], *prog = argv[2];
	char **rest = argv + 2;
	char path[4096];
	if (!strchr(prog, '/')) /* the functions without a PATH search get a path */
		snprintf(path, sizeof path, "/usr/bin/%s", prog);
	else
		snprintf(path, sizeof path, "%s", prog);
	/* The execl forms take a fixed list: pass on up to four arguments. */
	const char *a1 = argc > 3 ? argv[3] : 0, *a2 = argc > 4 ? argv[4] : 0, *a3 = argc > 5 ? argv[5] : 0,
		   *a4 = argc > 6 ? argv[6] : 0;
	if (!strcmp(f, "execve"))
		execve(path, rest, environ);
	else if (!strcmp(f, "execv"))
		execv(path, rest);
	else if (!strcmp(f, "execvp"))
		execvp(prog, rest);
	else if (!strcmp(f, "execvpe"))
		execvpe(prog, rest, environ);
	else if (!strcmp(f, "execl"))
		execl(path, prog, a1, a2, a3, a4, (char *)0);
	else if (!strcmp(f, "execlp"))
		execlp(prog, prog, a1, a2, a3, a4, (char *)0);
	else if (!strcmp(f, "execle"))
		execle(path, prog, a1, a2, a3, a4, (char *)0, environ);
	else if (!strcmp(f, "fexecve")) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		fexecve(fd, rest, environ);
	}
	perror(f);
	return 127;
}
