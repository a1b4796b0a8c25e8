import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to nginx on loopback for what `HTTPClient` will not do: pick the source
/// address (127.0.0.x), send malformed bytes, trickle a body, hang up without reading.
final class RawConnection {
    private(set) var fd: Int32

    enum RawError: Error { case socket(Int32), connect(Int32), timeout }

    /// Connects to 127.0.0.1:`port` from `source`; `timeout` bounds every send and receive.
    init(port: Int, from source: String = "127.0.0.1", timeout: TimeInterval = 5) throws {
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
        guard connected == 0 else { let code = errno; Glibc.close(fd); throw RawError.connect(code) }
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
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one response: up to its Content-Length, else until nginx closes the connection
    /// (after an error nginx may linger, reading what the client still sends), or the timeout.
    func readResponse() throws -> HTTPResponse {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
            if let response = try? HTTPClient.parse(received), let length = response.header("Content-Length").flatMap(Int.init),
               response.body.count >= length {
                return response
            }
        }
        guard !received.isEmpty else { throw RawError.timeout }
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
