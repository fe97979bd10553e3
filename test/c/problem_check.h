/* For the C tests of record checks: each check compares the refusal a
 * check returned (a problem string, or 0 for none) with the one wanted,
 * counts it, and prints what differed; main ends with problem_report(). */
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(const char *got, const char *want, const char *what)
{
	if (got == want || (got && want && !strcmp(got, want)))
		passed++;
	else
		failed++, printf("FAIL: %s: got \"%s\", want \"%s\"\n", what, got ? got : "(ok)", want ? want : "(ok)");
}

/* Prints "N passed, M failed"; the exit status: 1 if any failed. */
static int problem_report(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
