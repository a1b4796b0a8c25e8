#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock by which a wait must end. One deadline covers every lock a
/// transaction waits for (the writer lock, then SQLite's own), so the waits add up to at most
/// `database.busy_timeout`, not to that timeout per lock.
struct WaitDeadline {
    let nanoseconds: UInt64

    static var now: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    init(after seconds: Double) {
        nanoseconds = Self.now + UInt64(max(0, seconds) * 1e9)
    }

    var hasPassed: Bool { Self.now >= nanoseconds }

    /// For an absolute CLOCK_MONOTONIC timer.
    var monotonicTime: timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}
