/* The stub's one global, the restart in progress, in a file of its own:
 * every phase reads it, and refusals name the image and the note it holds. */
#include "stub.h"

struct stub_args restart;
