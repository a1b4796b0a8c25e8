#if canImport(Glibc)
import Glibc
#endif

/// A hashing slot is meant to be one core's worth of CPU, so the thread holding one runs at nice
/// −5 for the hash. At equal priority the kernel splits a core between the hash and whatever else
/// lands there (refreshes, nginx), and under a refresh load logins fell to 0.5–0.7 of what the
/// share allows; at −5 they keep ~0.95 of it while refresh keeps over half its rate
/// (`bench/storm.sh`). The slot count still bounds hashing: the rest of the cores stay the sessions'.
/// Lowering a nice value needs CAP_SYS_NICE or an RLIMIT_NICE of 25 or more (the systemd unit sets
/// `LimitNICE=25`); without either the hash simply runs at normal priority.
enum HashingPriority {
    static let nice: Int32 = -5

    /// Runs `work` at `nice` on this thread (Linux keeps a nice value per thread: `who` 0 is the
    /// calling thread), then puts the thread's own value back.
    static func raised<T>(_ work: () throws -> T) rethrows -> T {
        errno = 0
        let previous = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0, previous > nice, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 else { return try work() }
        defer { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, previous) }
        return try work()
    }
}
