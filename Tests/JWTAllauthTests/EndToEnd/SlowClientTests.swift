import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One address trickling thousands of slow requests must not take the site down for others.
@Suite(.serialized)
struct SlowClientTests {
    @Test func twoThousandSlowConnectionsFromOneAddressLeaveTheServiceUpForOthers() throws {
        #expect(RawConnection.allowDescriptors(4096), "the test needs 2,000+ descriptors")
        let instance = try TestInstance()
        try instance.createUser("patient@example.com")
        let session = try instance.session("patient@example.com")

        // 127.0.0.3 opens 2,000 connections: headers of a refresh, then a body byte at a time.
        var slow: [RawConnection] = []
        let head = "POST /jwt-allauth/refresh/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        // One after the other, each sending its headers at once, so that nginx holds every one
        // in its body-reading state (a connection still waiting for headers nginx would reuse).
        for _ in 0..<2000 {
            guard let connection = try? RawConnection(port: instance.port, from: "127.0.0.3", timeout: 2) else { continue }
            connection.send(head)
            slow.append(connection)
        }

        // Meanwhile, for about 8 s, 127.0.0.1 checks the service, while the trickle goes on.
        var token = session.refresh
        var slowest: TimeInterval = 0
        var failures: [String] = []
        let end = Date().addingTimeInterval(8)
        var lastTrickle = Date()
        while Date() < end {
            let start = Date()
            let health = try? RawConnection.exchange(port: instance.port, "GET /jwt-allauth/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout: 2)
            let refresh = try? instance.client.request("POST", "/jwt-allauth/refresh/", headers: [("Cookie", "refresh_token=\(token)")], timeout: 2)
            let took = Date().timeIntervalSince(start)
            slowest = max(slowest, took)
            if health?.status != 200 { failures.append("health \(health?.status ?? -1)") }
            if refresh?.status == 200, let next = refresh?.cookie("refresh_token") { token = next } else { failures.append("refresh \(refresh?.status ?? -1)") }
            if Date().timeIntervalSince(lastTrickle) >= 2 {
                for connection in slow { connection.send(" ") }
                lastTrickle = Date()
            }
            usleep(250_000)
        }
        for connection in slow { connection.close() }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        #expect(slowest < 1.0, "slowest health + refresh: \(slowest) s")
    }
}
