/* hir-srand-preload.c: seed rand() from the kernel instead of the clock.
 *
 * Debian's Cyrus IMAP 3.6 is built without libuuid, so it makes mailbox ids
 * with rand(), seeded by srand(time(NULL)) in every process.  Two users'
 * mailboxes created in the same second then get the same id, and JMAP
 * rejects `inMailbox` filters that become ambiguous.  Preloaded into the
 * Cyrus master (and so into every service it forks), this srand() ignores
 * the clock seed and takes one from getrandom() instead.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

void srand (unsigned int seed);

void
srand (unsigned int seed)
{
  static void (*real_srand) (unsigned int);
  unsigned int random_seed;

  if (real_srand == NULL)
    real_srand = (void (*) (unsigned int)) dlsym (RTLD_NEXT, "srand");

  if (getrandom (&random_seed, sizeof random_seed, 0) != sizeof random_seed)
    random_seed = seed ^ ((unsigned int) getpid () << 16);

  if (real_srand != NULL)
    real_srand (random_seed);
  else
    srandom (random_seed);
}
