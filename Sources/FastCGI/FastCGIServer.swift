import CFastCGI
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `threads` blocking accept loops on an inherited listening socket and answers each request
/// with `handler`. Each thread owns one `State` (e.g. its database connection), made by `makeState`.
public final class FastCGIServer<State>: @unchecked Sendable {
    /// The listening socket. FastCGI's own convention (FCGI_LISTENSOCK_FILENO) passes it as fd 0,
    /// as spawn-fcgi and systemd socket activation with `StandardInput=socket` do; we follow it so a
    /// worker can be run by any of them, not only by our master.
    public static var listenSocketFD: Int32 { 0 }

    private let listenFD: Int32
    private let threadCount: Int
    private let decoder: RequestDecoder
    private let makeState: @Sendable () throws -> State
    private let handler: @Sendable (Request, State) -> Response
    private let logger: Logger

    private let shuttingDown = Atomic<Bool>(false)
    /// Written once by `shutdown`, never read: from then on every `poll` on it returns at once,
    /// which wakes all the threads waiting for a new connection without a signal (a signal could
    /// also interrupt a read on a connection nginx is using, and lose its request).
    private var wakePipe: [Int32] = [-1, -1]
    private let finished = DispatchGroup()

    public init(
        listenFD: Int32 = FastCGIServer.listenSocketFD,
        threads: Int,
        maxBodyBytes: Int,
        logger: Logger,
        makeState: @escaping @Sendable () throws -> State,
        handler: @escaping @Sendable (Request, State) -> Response
    ) {
        self.listenFD = listenFD
        self.threadCount = max(1, threads)
        self.decoder = RequestDecoder(maxBodyBytes: maxBodyBytes)
        self.makeState = makeState
        self.handler = handler
        self.logger = logger
    }

    /// Starts the accept threads. Returns once every thread has made its state and is ready to accept.
    public func start() throws {
        guard FCGX_Init() == 0 else { throw FastCGIError.initFailed }
        guard pipe(&wakePipe) == 0 else { throw FastCGIError.initFailed }
        // Threads (and the other workers) wait in poll() and then race for each new connection;
        // the losers must get EAGAIN back rather than block in accept(), where no stop could
        // reach them. Accepted connections do not inherit the flag (Linux accept semantics).
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        let ready = DispatchGroup()
        let startError = Mutex<Error?>(nil)
        for index in 0..<threadCount {
            ready.enter()
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                let state: State
                do {
                    state = try makeState()
                } catch {
                    startError.withLock { $0 = error }
                    ready.leave()
                    return
                }
                ready.leave()
                acceptLoop(state: state)
            }
            thread.name = "fcgi-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        ready.wait()
        if let error = startError.withLock({ $0 }) {
            shutdown(timeout: 2)
            throw error
        }
    }

    /// Graceful stop, without losing a request nginx has sent or is about to send: no new
    /// connection is accepted, and each connection nginx keeps open (`fastcgi_keep_conn`) is
    /// served until nginx closes it — after its upstream `keepalive_timeout` when idle, or after
    /// `keepalive_requests` — because nginx may be writing a request into it at any moment and
    /// does not retry a POST on a connection closed under it. Returns false if some thread was
    /// still busy when `timeout` ran out (pair nginx's keepalive_timeout below it).
    @discardableResult
    public func shutdown(timeout: TimeInterval) -> Bool {
        if !shuttingDown.exchange(true, ordering: .sequentiallyConsistent) {
            // Stop accepting in this process only: the listening descriptor now names a socket that
            // listens to nothing, so the accept libfcgi tries by itself once nginx closes a kept
            // connection fails, instead of taking a new connection that would keep this worker
            // busy until it is killed. The other workers keep the real socket.
            let placeholder = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            if placeholder >= 0 {
                dup2(placeholder, listenFD)
                close(placeholder)
            }
            var byte: UInt8 = 1
            _ = write(wakePipe[1], &byte, 1)
        }
        return finished.wait(timeout: .now() + timeout) == .success
    }

    private func acceptLoop(state: State) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, listenFD, 0) == 0 else {
            logger.error("FCGX_InitRequest failed")
            return
        }
        while true {
            // No connection open: wait for a new one or for the stop, whichever comes first.
            // With one open, FCGX_Accept_r reads nginx's next request on it (or its close).
            if request.pointee.ipcFd < 0 && !waitForConnection() { break }
            if FCGX_Accept_r(request) < 0 {
                // EAGAIN: another thread or worker took the connection. Or nginx closed a kept one.
                continue
            }
            serve(request, state: state)
            FCGX_Finish_r(request)
        }
        FCGX_Free(request, 1)
    }

    /// True when the listening socket has a connection to accept, false once stopping.
    private func waitForConnection() -> Bool {
        var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        while !shuttingDown.load(ordering: .sequentiallyConsistent) {
            let ready = poll(&fds, 2, -1)
            if ready < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { return false }
            if fds[0].revents != 0 { return true }
        }
        return false
    }

    private func serve(_ raw: UnsafeMutablePointer<FCGX_Request>, state: State) {
        let params = Self.params(raw.pointee.envp)
        let input = raw.pointee.in
        let request = decoder.decode(params: params) { count in
            Self.read(count, from: input)
        }
        let response = handler(request, state)
        let bytes = response.cgiBytes()
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = FCGX_PutStr(chars.baseAddress, Int32(chars.count), raw.pointee.out)
            }
        }
    }

    private static func params(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [(name: String, value: [UInt8])] {
        var result: [(name: String, value: [UInt8])] = []
        guard var cursor = envp else { return result }
        while let entry = cursor.pointee {
            let length = strlen(entry)
            let bytes = UnsafeRawBufferPointer(start: entry, count: length)
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                result.append((name, Array(bytes[(equals + 1)...])))
            }
            cursor += 1
        }
        return result
    }

    private static func read(_ count: Int, from stream: UnsafeMutablePointer<FCGX_Stream>?) -> [UInt8] {
        guard count > 0, let stream else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBufferPointer { pointer in
                pointer.baseAddress!.advanced(by: filled).withMemoryRebound(to: CChar.self, capacity: count - filled) {
                    FCGX_GetStr($0, Int32(count - filled), stream)
                }
            }
            if got <= 0 { break }
            filled += Int(got)
        }
        buffer.removeLast(count - filled)
        return buffer
    }
}

public enum FastCGIError: Error, CustomStringConvertible {
    case initFailed
    case openSocketFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .initFailed: return "FCGX_Init failed"
        case .openSocketFailed(let path, let code): return "cannot listen on \(path): \(String(cString: strerror(code)))"
        }
    }
}
