#if canImport(Glibc)
import Glibc
#endif

/// A hashing slot is meant to be one core's worth of CPU, so the thread holding one (or waiting
/// for one: woken by a release, it then takes the slot at once) runs at a raised priority,
/// `accounts.hashing_nice`. At equal priority the kernel splits a core between the hash and
/// whatever else lands there (refreshes, nginx), and under a refresh load logins fell to 0.5–0.7
/// of what the share allows. How far to raise it is a trade between the two sides of a login
/// storm (`bench/storm.sh`, 2 cores, 2 running threads per worker): at −5 logins kept 0.81 of the
/// share and refresh p99 1.7× its unloaded p99; at −10, 0.96 and 3.2×; the default −8 sits between.
/// The slot count still bounds hashing: the rest of the cores stay the sessions'.
/// Lowering a nice value needs CAP_SYS_NICE or an RLIMIT_NICE of 20 − nice or more (the systemd
/// unit sets `LimitNICE=30`); without either the hash simply runs at normal priority.
package struct HashingPriority: Sendable {
    package static let defaultNice: Int32 = -8
    let nice: Int32

    package init(nice: Int32 = Self.defaultNice) { self.nice = nice }

    /// Runs `work` at `nice` on this thread (Linux keeps a nice value per thread: `who` 0 is the
    /// calling thread), then puts the thread's own value back.
    func raised<T>(_ work: () throws -> T) rethrows -> T {
        errno = 0
        let previous = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0, previous > nice, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 else { return try work() }
        defer { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, previous) }
        return try work()
    }
}
