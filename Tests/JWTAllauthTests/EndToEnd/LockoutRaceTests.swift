import Foundation
import Testing
@testable import AllauthCore

/// Parallel guesses at one account from one address, through real nginx and the pool: five are
/// checked, the rest are refused unchecked (`LockoutTests` has the limits one request at a time).
@Suite(.serialized)
struct LockoutRaceTests {
    @Test func parallelGuessesFromOneAddressAreCheckedOnlyUpToTheLimit() throws {
        let instance = try TestInstance()  // the shipped limits: login_account 5/300s, login_ip 10/m
        try instance.createUser("victim@example.com")
        let port = instance.port, mount = instance.mount
        let statuses = simultaneously(12) { _ in
            (try? TestInstance.post(port: port, "\(mount)/login/", json: #"{"email":"victim@example.com","password":"Guess-456"}"#,
                                    from: "127.0.0.3").status) ?? 0
        }
        #expect(statuses.filter { $0 == 401 }.count == 5 && statuses.filter { $0 == 429 }.count == 7, "\(statuses.sorted())")
        #expect(try instance.login("victim@example.com", from: LockoutTests.owner).status == 200, "the owner, elsewhere, logs in as usual")
    }
}

extension TestInstance {
    /// `POST path` with a JSON body from the loopback address `source`, as nginx will see the client.
    static func post(port: Int, _ path: String, json: String, headers: [(String, String)] = [], from source: String) throws -> HTTPResponse {
        let connection = try RawConnection(port: port, from: source, timeout: 30)
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Type: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(json.utf8.count)\r\n\r\n"
        connection.send(Array((head + json).utf8))
        return try connection.readResponse()
    }

    func post(_ path: String, json: String, from source: String) throws -> HTTPResponse {
        try Self.post(port: port, path, json: json, from: source)
    }

    func login(_ email: String, password: String = "Val1dPasw0rd!", from source: String) throws -> HTTPResponse {
        try post("\(mount)/login/", json: #"{"email":"\#(email)","password":"\#(password)"}"#, from: source)
    }
}
