// Run by `npm test` before the suite: the end-to-end tests run real
// programs and tools, and a missing one must stop the run with the exact
// packages to install, never look like a pass. Slurm and musl-gcc are
// optional: their tests are skipped, with a warning, where they are not installed.
import { existsSync } from "node:fs";

const required: [command: string, debianPackage: string, why: string][] = [
  ["cc", "gcc", "builds the C parts, the demos and the test fixtures"],
  ["readelf", "binutils", "the build checks the stub has no relocations"],
  ["objcopy", "binutils", "the build strips the embedded helpers"],
  ["python3", "python3", "real programs checkpointed"],
  ["perl", "perl", "real programs checkpointed"],
  ["mawk", "mawk", "real programs checkpointed"],
  ["node", "nodejs", "real programs checkpointed"],
  ["make", "make", "a program with children"],
  ["tmux", "tmux", "the interactive mode in a terminal"],
  ["script", "bsdutils", "programs on a pseudo-terminal"],
  ["pgrep", "procps", "a restarted program as ps sees it"],
  ["setpriv", "util-linux", "programs run as another user"],
  ["prlimit", "util-linux", "a restart under a lower locked-memory limit"],
  ["strace", "strace", "the order of the image's fsync, link and rename; a kill at the commit"],
  ["less", "less", "a full-screen program in tmux"],
  ["vim", "vim", "a full-screen program in tmux"],
  ["top", "procps", "a full-screen program holding /proc files"],
  ["chattr", "e2fsprogs", "a file not writable even by root"],
  ["java", "openjdk-17-jdk-headless", "the JVM checkpointed (test/e2e/jvm.test.ts)"],
  ["sqlite3", "sqlite3", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["xz", "xz-utils", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["zstd", "zstd", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["rsync", "rsync", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["bc", "bc", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["tclsh", "tcl", "batch tools checkpointed (test/e2e/real-tools.test.ts)"],
  ["ssh-agent", "openssh-client", "agents and daemons checkpointed (test/e2e/real-daemons.test.ts)"],
  ["gpg-agent", "gpg-agent", "agents and daemons checkpointed (test/e2e/real-daemons.test.ts)"],
  ["gpg-connect-agent", "gpgconf", "agents and daemons checkpointed (test/e2e/real-daemons.test.ts)"],
  ["dbus-daemon", "dbus-daemon", "agents and daemons checkpointed (test/e2e/real-daemons.test.ts)"],
  ["dbus-send", "dbus-bin", "agents and daemons checkpointed (test/e2e/real-daemons.test.ts)"],
  ["watch", "procps", "interactive programs checkpointed (test/e2e/real-daemons.test.ts)"],
  ["gdb", "gdb", "a traced program refused (test/e2e/real-daemons.test.ts)"],
  ["g++", "g++", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["cmake", "cmake", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["ninja", "ninja-build", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["cargo", "cargo", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["rustc", "rustc", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["javac", "openjdk-17-jdk-headless", "builds checkpointed (test/e2e/real-builds.test.ts)"],
  ["parallel", "parallel", "GNU parallel's jobs checkpointed (test/e2e/real-compute.test.ts)"],
  ["valgrind", "valgrind", "a program under valgrind, refused (test/e2e/exec-chain.test.ts)"],
  ["go", "golang-go", "a Go program checkpointed (test/e2e/go.test.ts)"],
  ["ruby", "ruby", "Ruby, which takes SIGUSR2 for itself (test/e2e/own-signal.test.ts)"],
  ["/usr/sbin/nginx", "nginx-light", "nginx's master and workers on O_ASYNC socket pairs (test/e2e/async-io.test.ts)"],
];
const missing = required.filter(([command]) => !Bun.which(command));
// Not a command: the LZ4 archive and header the build links (scripts/c-sources.ts).
if (!existsSync("/usr/include/lz4.h")) missing.push(["lz4.h", "liblz4-dev", "the build links LZ4 for compressed images"]);
// Not commands either: numpy for Debian's python3, and the threaded OpenBLAS it runs on (test/e2e/real-compute.test.ts).
if (Bun.spawnSync(["/usr/bin/python3", "-c", "import numpy"]).exitCode !== 0)
  missing.push(["numpy", "python3-numpy", "numpy checkpointed mid-loop (test/e2e/real-compute.test.ts)"]);
if (!existsSync("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"))
  missing.push(["OpenBLAS", "libopenblas0-pthread", "numpy's products on two threads (test/e2e/real-compute.test.ts)"]);
if (missing.length > 0) {
  for (const [command, , why] of missing) console.error(`npm test: ${command} is missing (${why})`);
  const packages = [...new Set(missing.map(([, p]) => p))].join(" ");
  console.error(`npm test: install them first; on Debian or Ubuntu: apt-get install ${packages}`);
  process.exit(1);
}
const sbin = `${process.env.PATH}:/usr/sbin:/sbin`;
if (!["munged", "slurmctld", "slurmd", "sbatch"].every((c) => Bun.which(c, { PATH: sbin })))
  console.warn("npm test: Slurm is not installed, so the batch-job tests will be skipped (apt-get install munge slurmctld slurmd slurm-client, or CKPT_TEST_APT=1 to let them install it as root)");
if (!Bun.which(process.env.MUSL_CC ?? "musl-gcc"))
  console.warn("npm test: musl-gcc is not installed, so ckpt is built without musl support and the musl tests will be skipped (apt-get install musl-tools)");
