import Foundation
import Testing
@testable import AllauthCore

#if canImport(Glibc)
import Glibc
#endif

/// The attacker and the bad network that need real nginx and the pool (`HostileClientTests` has the
/// service's own rules in process): an answer lost in transit on a raw connection, every error
/// nginx makes itself, and thousands of keys from 32 clients at once.
@Suite(.serialized)
struct HostileNetworkTests {
    @Test func aRefreshAnswerLostInTransitDoesNotLogTheUserOut() throws {
        let instance = try TestInstance()
        try instance.createUser("tunnel@example.com")
        let session = try instance.session("tunnel@example.com")
        let claims = try JWTParts(session.refresh).claims
        let sessionID = claims["session"]?.string ?? "", original = claims["jti"]?.string ?? ""

        // The phone sends its refresh and enters a tunnel: the server commits, the answer is lost.
        let lost = try RawConnection(port: instance.port)
        lost.send("POST /jwt-allauth/refresh/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: refresh_token=\(session.refresh)\r\nContent-Length: 0\r\n\r\n")
        usleep(20_000)
        lost.close()
        let db = try instance.database()
        var rotatedTo: String?
        let deadline = Date().addingTimeInterval(5)
        while rotatedTo == nil && Date() < deadline {
            let current = try db.first("SELECT jti FROM refresh_tokens WHERE session = ?", [.text(sessionID)]) { $0.string(0) }
            if let current, current != original { rotatedTo = current } else { usleep(10_000) }
        }
        #expect(rotatedTo != nil, "the server committed the rotation nobody heard about")

        // Out of the tunnel, the client retries with the only token it has.
        let retry = try instance.refresh(cookie: session.refresh)
        #expect(retry.status == 200, "\(retry.status) \(retry.text)")
        let successor = try retry.cookie("refresh_token").map { try JWTParts($0).claims["jti"]?.string }
        #expect(successor == rotatedTo, "the successor already issued is handed out again, not a second one")
        #expect(try instance.refresh(cookie: retry.cookie("refresh_token") ?? "").status == 200, "the session lives on")
    }

    @Test func everyAnswerNginxMakesUnderTheMountIsJSON() throws {
        let instance = try TestInstance()
        let port = instance.port
        let host = "Host: 127.0.0.1\r\nConnection: close\r\n"
        let cookie = String(repeating: "c", count: 20_000)
        let uri = "/jwt-allauth/" + String(repeating: "u", count: 20_000) + "/"
        let cases: [(String, String, Int)] = [
            ("TRACE", "TRACE /jwt-allauth/health/ HTTP/1.1\r\n\(host)\r\n", 405),
            ("a NUL in the path", "GET /jwt-allauth/%00/ HTTP/1.1\r\n\(host)\r\n", 400),
            ("a bad header", "GET /jwt-allauth/health/ HTTP/1.1\r\n\(host)Bad Header: x\r\n\r\n", 400),
            ("no Host", "GET /jwt-allauth/health/ HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
            ("an oversized cookie", "GET /jwt-allauth/health/ HTTP/1.1\r\n\(host)Cookie: a=\(cookie)\r\n\r\n", 400),
            ("an oversized URI", "GET \(uri) HTTP/1.1\r\n\(host)\r\n", 414),
            ("HTTP/3.0 on the wire", "GET /jwt-allauth/health/ HTTP/3.0\r\n\(host)\r\n", 505),
            ("the mount without its slash", "GET /jwt-allauth HTTP/1.1\r\n\(host)\r\n", 301),
            ("a body too large", "POST /jwt-allauth/login/ HTTP/1.1\r\n\(host)Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n", 413),
        ]
        for (what, request, status) in cases {
            let response = try RawConnection.exchange(port: port, request)
            #expect(response.status == status, "\(what): \(response.status)")
            #expect(response.header("Content-Type") == "application/json", "\(what): \(response.header("Content-Type") ?? "-")")
            #expect(response.json?["detail"]?.string != nil, "\(what): \(response.text.prefix(200))")
        }
        let moved = try RawConnection.exchange(port: port, "GET /jwt-allauth HTTP/1.1\r\n\(host)\r\n")
        #expect(moved.header("Location")?.hasSuffix("/jwt-allauth/") == true)
        let connect = try RawConnection.exchange(port: port, "CONNECT 127.0.0.1:443 HTTP/1.1\r\n\(host)\r\n")
        #expect(connect.status >= 400 && connect.status < 500 && connect.json?["detail"] != nil, "CONNECT: \(connect.status) \(connect.text.prefix(100))")

        let options = try instance.client.request("OPTIONS", "/jwt-allauth/login/")
        #expect(options.status == 200)
        #expect(options.header("Allow") == "POST, OPTIONS")
        #expect(options.json?["renders"]?[0]?.string == "application/json", "\(options.text)")
        let verify = try instance.client.get("/jwt-allauth/verify/")
        #expect(verify.status == 401 && verify.json?["detail"] != nil, "verify/ called directly explains itself")
    }

    @Test func aBodyOfThousandsOfKeysIsRefusedCheaply() throws {
        // The parser is what is tried here: nginx's per-address limit (burst 20) would answer some
        // of 32 posts at once itself (429) once the workers answer them fast enough.
        let instance = try TestInstance(credentialRate: "100000r/s")
        var body = "{"
        var index = 0
        while body.utf8.count < 64_000 {
            body += (index == 0 ? "" : ",") + "\"k\(index)\":0"
            index += 1
        }
        body += "}"
        let payload = body
        let client = instance.client
        let start = Date()
        let statuses = simultaneously(32) { _ in (try? client.post("/jwt-allauth/login/", json: payload))?.status ?? -1 }
        let elapsed = Date().timeIntervalSince(start)
        #expect(statuses.allSatisfy { $0 == 400 }, "\(Set(statuses))")
        #expect(elapsed < 2.5, "32 bodies of \(index) keys took \(elapsed) s")
        let duplicate = try client.post("/jwt-allauth/login/", json: #"{"email":"a@example.com","email":"b@example.com","password":"x"}"#)
        #expect(duplicate.status == 401, "a repeated key: the last one wins, as before")
    }
}
