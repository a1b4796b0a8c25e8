import Foundation
import Testing
@testable import JWTAllauth

/// One mail as a recipient sees it.
struct ReceivedMail {
    var to: String
    var subject: String
    var text: String
    var html: String

    /// The first absolute link into the service's mount, as the mail carries it.
    func link(port: Int) -> String? {
        let prefix = "http://127.0.0.1:\(port)/jwt-allauth/"
        guard let start = text.range(of: prefix) else { return nil }
        let rest = text[start.lowerBound...]
        let end = rest.firstIndex { $0.isWhitespace || $0 == "\"" || $0 == "<" || $0 == ">" } ?? rest.endIndex
        return String(rest[..<end])
    }
}

/// The cookies a browser would hold after a capability redirect.
struct CapabilityCookies {
    var capability: String
    var csrf: String

    func headers(cookieName: String, csrfHeader: String? = nil) -> [(String, String)] {
        var headers = [("Cookie", "\(cookieName)=\(capability); csrftoken=\(csrf)")]
        if let csrfHeader { headers.append(("X-CSRFToken", csrfHeader)) }
        return headers
    }
}

extension TestInstance {
    static let strongPassword = "Val1dPasw0rd!"

    /// Mails queued for `address`, oldest first.
    func mails(to address: String) throws -> [ReceivedMail] {
        var mails: [ReceivedMail] = []
        try database().query("SELECT recipient, subject, text_body, COALESCE(html_body, '') FROM outbox WHERE recipient = ? ORDER BY id",
                             [.text(address)]) { row in
            mails.append(ReceivedMail(to: row.string(0), subject: row.string(1), text: row.string(2), html: row.string(3)))
        }
        return mails
    }

    /// Waits (bounded) until `address` has received `count` mails; answers the last.
    func awaitMail(to address: String, count: Int = 1, timeout: TimeInterval = 15) throws -> ReceivedMail {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let received = try mails(to: address)
            if received.count >= count { return received[count - 1] }
            usleep(50_000)
        }
        throw MailError.notReceived(address, count)
    }

    var outboxCount: Int {
        get throws { try database().first("SELECT COUNT(*) FROM outbox") { Int($0.int(0)) } ?? -1 }
    }

    var userCount: Int {
        get throws { try database().first("SELECT COUNT(*) FROM users") { Int($0.int(0)) } ?? -1 }
    }

    /// The path (below the host) of a link from a mail.
    func path(of link: String) -> String {
        String(link.dropFirst("http://127.0.0.1:\(port)".count))
    }

    func register(_ email: String, password: String = strongPassword, extra: String = "") throws -> HTTPResponse {
        try client.post("\(mount)/registration/",
                        json: #"{"email":"\#(email)","password1":"\#(password)","password2":"\#(password)"\#(extra)}"#)
    }

    /// Follows the link of the `count`-th mail to `address`.
    func followMailLink(to address: String, count: Int = 1, headers: [(String, String)] = []) throws -> HTTPResponse {
        let mail = try awaitMail(to: address, count: count)
        let link = try #require(mail.link(port: port), "a link in \(mail.text)")
        return try client.get(path(of: link), headers: headers)
    }

    /// The capability and CSRF cookies a capability redirect set.
    func capabilityCookies(_ response: HTTPResponse, name: String) throws -> CapabilityCookies {
        CapabilityCookies(capability: try #require(response.cookie(name)), csrf: try #require(response.cookie("csrftoken")))
    }

    /// Posts a new password to a capability endpoint with the cookies (and by default the CSRF header).
    func setPassword(_ endpoint: String, _ cookies: CapabilityCookies, cookieName: String, password: String,
                     confirmation: String? = nil, csrfHeader: String?? = .none) throws -> HTTPResponse {
        let header = csrfHeader ?? cookies.csrf
        return try client.post("\(mount)/\(endpoint)",
                               json: #"{"new_password1":"\#(password)","new_password2":"\#(confirmation ?? password)"}"#,
                               headers: cookies.headers(cookieName: cookieName, csrfHeader: header))
    }

    /// Runs the command line against this instance, as an operator would.
    @discardableResult
    func runCommand(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments + ["--config", configPath]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}

enum MailError: Error { case notReceived(String, Int) }

extension HTTPResponse {
    /// An HTML page with its per-response CSP nonce blanked, to compare two answers.
    var pageWithoutNonce: String {
        guard let policy = header("Content-Security-Policy"), let start = policy.range(of: "'nonce-") else { return text }
        let nonce = policy[start.upperBound...].prefix { $0 != "'" }
        return text.replacingOccurrences(of: String(nonce), with: "")
    }

    /// Header fields that do not vary between two otherwise identical answers.
    var stableHeaders: [String] {
        headers.filter { !["date", "set-cookie"].contains($0.0.lowercased()) }.map { "\($0.0.lowercased()): \($0.1)" }.sorted()
    }
}
