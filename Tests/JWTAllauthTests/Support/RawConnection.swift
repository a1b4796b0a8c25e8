import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to nginx on loopback for what `HTTPClient` will not do: pick the source
/// address (127.0.0.x), send malformed bytes, trickle a body, hang up without reading.
final class RawConnection {
    private(set) var fd: Int32

    /// `closed`: the peer hung up before a byte of an answer; `timeout`: nothing within the
    /// timeout; `receive`: recv failed otherwise (errno).
    enum RawError: Error { case socket(Int32), connect(Int32), timeout, closed, receive(Int32) }

    private let timeout: TimeInterval

    /// Connects to 127.0.0.1:`port` from `source`; `timeout` bounds every send and receive.
    init(port: Int, from source: String = "127.0.0.1", timeout: TimeInterval = 5) throws {
        self.timeout = timeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError.socket(errno) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var local = Self.address(source, port: 0)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let code = errno; Glibc.close(fd); throw RawError.connect(code) }
        var remote = Self.address("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // A signal handled while connect waits (with a send timeout set, the kernel never
        // restarts it, whatever SA_RESTART says) leaves the connection going on: wait for it.
        if connected != 0 {
            let code = errno
            guard code == EINTR, let failure = Self.awaitConnection(fd, timeout: timeout) else {
                Glibc.close(fd)
                throw RawError.connect(code)
            }
            guard failure == 0 else { Glibc.close(fd); throw RawError.connect(failure) }
        }
    }

    /// The result (0 or an errno) of a connect that a signal interrupted; nil if still pending at
    /// the timeout.
    private static func awaitConnection(_ fd: Int32, timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            let ready = poll(&entry, 1, left)
            if ready > 0 {
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
                return failure
            }
            if ready == 0 || errno != EINTR || deadline.timeIntervalSinceNow <= 0 { return nil }
        }
    }

    deinit { close() }

    private static func address(_ ip: String, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(ip)
        return address
    }

    /// Sends everything it can; false if the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        guard fd >= 0 else { return false }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one response: up to its Content-Length, else until nginx closes the connection
    /// (after an error nginx may linger, reading what the client still sends), or the timeout.
    /// A signal handled meanwhile does not end the wait: with SO_RCVTIMEO set the kernel never
    /// restarts recv, so it is retried here until the timeout.
    func readResponse() throws -> HTTPResponse {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        var failure: Int32 = 0
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR && deadline.timeIntervalSinceNow > 0 { continue }
            if n < 0 { failure = errno }
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
            if let response = try? HTTPClient.parse(received), let length = response.header("Content-Length").flatMap(Int.init),
               response.body.count >= length {
                return response
            }
        }
        if received.isEmpty {
            switch failure {
            case 0: throw RawError.closed
            case EAGAIN, EINTR: throw RawError.timeout  // EWOULDBLOCK is EAGAIN on Linux
            default: throw RawError.receive(failure)
            }
        }
        return try HTTPClient.parse(received)
    }

    /// Hangs up without reading what the server may still send.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends raw request bytes on a fresh connection and answers what nginx replied.
    static func exchange(port: Int, _ request: String, timeout: TimeInterval = 5) throws -> HTTPResponse {
        let connection = try RawConnection(port: port, timeout: timeout)
        connection.send(request)
        return try connection.readResponse()
    }

    /// Raises this process's descriptor limit to at least `count` (the hard limit too, as root).
    static func allowDescriptors(_ count: Int) -> Bool {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur >= rlim_t(count) { return true }
        limit.rlim_cur = rlim_t(count)
        limit.rlim_max = max(limit.rlim_max, rlim_t(count))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = min(rlim_t(count), limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_cur >= rlim_t(count)
    }
}
