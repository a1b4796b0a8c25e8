import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// A one-way "please stop" set by a signal thread and read by the mail loop and, through a plain C
/// pointer, by libcurl in the middle of a send: setting it also shuts down the socket of a send
/// in progress (see `jwt_curl_abort_when` in CCurl), so a stop never waits on a slow server.
public final class StopFlag: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>

    public init() {
        // [0] the flag, [1] the socket of the send in progress (-1: none).
        pointer = .allocate(capacity: 2)
        pointer.initialize(to: 0)
        (pointer + 1).initialize(to: -1)
    }

    deinit { pointer.deallocate() }

    public func set() { jwt_stop_state_set(pointer) }
    public var isSet: Bool { jwt_stop_state_is_set(pointer) != 0 }

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
