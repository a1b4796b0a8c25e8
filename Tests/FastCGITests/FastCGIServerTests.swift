import Foundation
import HTTPTypes
import Logging
import Testing
@testable import FastCGI

#if canImport(Glibc)
import Glibc
#endif

/// The event loop on a real unix socket, spoken to the way nginx speaks to it: kept connections,
/// records split anywhere, a peer that goes away.
@Suite(.serialized) struct FastCGIServerTests {
    /// A listening socket in a temporary directory and a server on it answering `path=<DOCUMENT_URI> body=<n>`.
    final class Fixture {
        let path: String
        let listenFD: Int32
        let server: FastCGIServer<Void>

        /// `stuck`: a request for /stuck/ blocks its thread until this is signalled, without
        /// announcing a long wait (as a thread preempted for long, or blocked where no one said so).
        init(threads: Int, runningThreads: Int? = nil, stuck: DispatchSemaphore? = nil) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("fcgi-test-\(UUID().uuidString.prefix(8)).sock").path
            let listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.address(path)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(listenFD, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
            self.path = path
            self.listenFD = listenFD
            server = FastCGIServer<Void>(listenFD: listenFD, threads: threads, runningThreads: runningThreads, maxBodyBytes: 1024,
                                         logger: Logger(label: "test"), makeState: {}, handler: { request, _ in
                if request.path == "/stuck/" { stuck?.wait() }
                return Response(status: .ok, body: Array("path=\(request.path) body=\(request.body.count)".utf8))
            })
            try server.start()
        }

        static func address(_ path: String) -> sockaddr_un {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            return address
        }

        deinit {
            server.shutdown(timeout: 2)
            close(listenFD)
            unlink(path)
        }

        func connect() throws -> Int32 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.address(path)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
            return fd
        }
    }

    /// A request as nginx sends it: BEGIN_REQUEST (keep the connection), PARAMS, STDIN.
    static func request(id: UInt16, path: String, body: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        FastCGIRecord.appendHeader(.beginRequest, requestID: id, contentLength: 8, to: &out)
        out.append(contentsOf: [0, 1, FastCGIRecord.keepConnection, 0, 0, 0, 0, 0])
        var params: [UInt8] = []
        for (name, value) in [("REQUEST_METHOD", body.isEmpty ? "GET" : "POST"), ("DOCUMENT_URI", path), ("CONTENT_LENGTH", String(body.count))] {
            params.append(UInt8(name.utf8.count))
            params.append(UInt8(value.utf8.count))
            params.append(contentsOf: name.utf8)
            params.append(contentsOf: value.utf8)
        }
        params.withUnsafeBytes { FastCGIRecord.append(.params, requestID: id, content: $0, to: &out) }
        FastCGIRecord.appendHeader(.params, requestID: id, contentLength: 0, to: &out)
        if !body.isEmpty { body.withUnsafeBytes { FastCGIRecord.append(.stdin, requestID: id, content: $0, to: &out) } }
        FastCGIRecord.appendHeader(.stdin, requestID: id, contentLength: 0, to: &out)
        return out
    }

    /// Reads records until END_REQUEST, within `timeout`; answers the STDOUT text, nil on timeout or close.
    static func answer(_ fd: Int32, timeout: TimeInterval = 2) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        var stdout: [UInt8] = []
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) >= 0 else { return nil }
            if poller.revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = read(fd, &chunk, chunk.count)
                if count <= 0 { return nil }
                bytes.append(contentsOf: chunk[0..<count])
            }
            var offset = 0
            var ended = false
            bytes.withUnsafeBytes { raw in
                stdout = []
                while let header = FastCGIRecord.Header(raw, at: offset), raw.count - offset >= header.totalLength {
                    if header.type == FastCGIRecord.Kind.stdout.rawValue {
                        stdout.append(contentsOf: raw[(offset + 8)..<(offset + 8 + header.contentLength)])
                    }
                    if header.type == FastCGIRecord.Kind.endRequest.rawValue { ended = true }
                    offset += header.totalLength
                }
            }
            if ended { return String(decoding: stdout, as: UTF8.self) }
        }
        return nil
    }

    @Test func answersSeveralRequestsOnOneKeptConnection() throws {
        let fixture = try Fixture(threads: 2)
        let fd = try fixture.connect()
        defer { close(fd) }
        for index in 1...3 {
            let sent = Self.request(id: 1, path: "/r\(index)/", body: Array(repeating: 0x41, count: index * 10))
            #expect(write(fd, sent, sent.count) == sent.count)
            let text = try #require(Self.answer(fd))
            #expect(text.hasPrefix("Status: 200 OK\r\n"))
            #expect(text.hasSuffix("path=/r\(index)/ body=\(index * 10)"))
        }
    }

    @Test func recordsSplitAtEveryByteStillMakeOneRequest() throws {
        let fixture = try Fixture(threads: 1)
        let fd = try fixture.connect()
        defer { close(fd) }
        for byte in Self.request(id: 3, path: "/split/", body: Array("{}".utf8)) {
            var one = byte
            _ = write(fd, &one, 1)
            usleep(200)
        }
        #expect(Self.answer(fd)?.hasSuffix("path=/split/ body=2") == true)
    }

    /// The reason for the event loop: with one thread, a connection kept open and idle (as nginx
    /// keeps them) must not keep a request on another connection waiting.
    @Test func anIdleKeptConnectionDoesNotHoldTheOnlyThread() throws {
        let fixture = try Fixture(threads: 1)
        let idle = try fixture.connect()
        defer { close(idle) }
        let first = Self.request(id: 1, path: "/first/")
        _ = write(idle, first, first.count)
        #expect(Self.answer(idle)?.hasSuffix("path=/first/ body=0") == true)
        // `idle` stays open, as nginx's keepalive cache holds it.
        let other = try fixture.connect()
        defer { close(other) }
        let second = Self.request(id: 1, path: "/second/")
        _ = write(other, second, second.count)
        #expect(Self.answer(other, timeout: 2)?.hasSuffix("path=/second/ body=0") == true)
    }

    /// With one running thread, a request that holds it without announcing a long wait must not
    /// hold up the requests behind it: the sweeper, which no request wakes, finds them ready and
    /// answers them within its pace (1 ms while requests come).
    @Test func theSweeperAnswersWhileTheOnlyRunningThreadIsStuck() throws {
        let release = DispatchSemaphore(value: 0)
        let fixture = try Fixture(threads: 4, runningThreads: 1, stuck: release)
        let stuckConnection = try fixture.connect()
        defer { close(stuckConnection) }
        let stuck = Self.request(id: 1, path: "/stuck/")
        _ = write(stuckConnection, stuck, stuck.count)
        usleep(100_000)  // the running thread holds /stuck/ by now
        let other = try fixture.connect()
        defer { close(other) }
        var slowest = 0.0
        for index in 1...20 {
            let started = Date()
            let sent = Self.request(id: 1, path: "/quick\(index)/")
            _ = write(other, sent, sent.count)
            #expect(Self.answer(other, timeout: 1)?.hasSuffix("path=/quick\(index)/ body=0") == true)
            slowest = max(slowest, Date().timeIntervalSince(started))
        }
        #expect(slowest < 0.1, "the slowest answer behind the stuck thread took \(slowest) s")
        release.signal()
        #expect(Self.answer(stuckConnection)?.hasSuffix("path=/stuck/ body=0") == true)
    }

    @Test func garbageClosesOnlyThatConnection() throws {
        let fixture = try Fixture(threads: 1)
        let bad = try fixture.connect()
        defer { close(bad) }
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = write(bad, garbage, garbage.count)
        #expect(Self.answer(bad, timeout: 1) == nil)
        let good = try fixture.connect()
        defer { close(good) }
        let sent = Self.request(id: 1, path: "/after/")
        _ = write(good, sent, sent.count)
        #expect(Self.answer(good)?.hasSuffix("path=/after/ body=0") == true)
    }

    @Test func shutdownWaitsForKeptConnectionsAndRefusesNewOnes() throws {
        let fixture = try Fixture(threads: 2)
        let kept = try fixture.connect()
        let sent = Self.request(id: 1, path: "/before/")
        _ = write(kept, sent, sent.count)
        #expect(Self.answer(kept) != nil)
        #expect(fixture.server.shutdown(timeout: 0.3) == false, "a kept connection is still open")
        // nginx may still send on the connection it holds: it is answered.
        let again = Self.request(id: 1, path: "/during/")
        _ = write(kept, again, again.count)
        #expect(Self.answer(kept)?.hasSuffix("path=/during/ body=0") == true)
        close(kept)
        #expect(fixture.server.shutdown(timeout: 2), "every thread left once the last connection closed")
    }
}
