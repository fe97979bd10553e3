/* namespaces.c: the namespaces a program may be in without their being
 * its own: noted at launch (or after a restart, the restart's); any other
 * refuses a checkpoint. */
#ifndef CKPT_NAMESPACES_H
#define CKPT_NAMESPACES_H
struct capture;
void namespaces_note_launch(void);
void namespaces_note_current(void);
int refuse_own_namespaces(struct capture *c);
#endif
