import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// A one-way "please stop" set by a signal thread and read by the mail loop and, through a plain C
/// pointer, by libcurl's progress callback in the middle of a send.
public final class StopFlag: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>

    public init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: 0)
    }

    deinit { pointer.deallocate() }

    public func set() { jwt_atomic_flag_set(pointer) }
    public var isSet: Bool { jwt_atomic_flag_get(pointer) != 0 }

    /// Sleeps up to `seconds`, waking early once the flag is set.
    public func sleep(_ seconds: Double) {
        var left = seconds
        while left > 0 && !isSet {
            let step = min(left, 0.05)
            usleep(UInt32(step * 1_000_000))
            left -= step
        }
    }
}
