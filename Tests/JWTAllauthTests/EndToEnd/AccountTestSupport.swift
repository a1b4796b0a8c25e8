import Foundation
import Testing
@testable import AllauthCore

extension ReceivedMail {
    /// The first link into this instance's API, as the mail carries it.
    func link(port: Int) -> String? { link(containing: "http://127.0.0.1:\(port)/jwt-allauth/") }
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
    /// An instance whose mail goes to a real SMTP server on loopback (`mailSink`).
    static func withMail(_ environment: [String: String] = [:]) throws -> TestInstance {
        try TestInstance(environment: environment, smtp: true)
    }

    /// Waits (bounded) until the SMTP server has received `count` mails for `address`; answers the last.
    func awaitMail(to address: String, count: Int, timeout: TimeInterval) throws -> ReceivedMail {
        let sink = try #require(mailSink, "start the instance with TestInstance.withMail")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let received = sink.messages.filter { $0.envelopeTo == address }
            if received.count >= count { return received[count - 1] }
            usleep(50_000)
        }
        throw MailError.notReceived(address, count)
    }
}

extension ServiceInstance {
    /// Mails queued for `address` in the outbox: what the service decided to send, deterministic
    /// (delivery is asynchronous), for checks that nothing was sent.
    func queuedMails(to address: String) throws -> Int {
        try database().first("SELECT COUNT(*) FROM outbox WHERE recipient = ?", [.text(address)]) { Int($0.int(0)) } ?? -1
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

    func register(_ email: String, password: String = strongPassword, extra: String = "", headers: [(String, String)] = []) throws -> HTTPResponse {
        try client.post("\(mount)/registration/",
                        json: #"{"email":"\#(email)","password1":"\#(password)","password2":"\#(password)"\#(extra)}"#, headers: headers)
    }

    /// What a person does with the link of the `count`-th mail to `address`: opens it and, when it
    /// shows the confirmation page, presses its button. Answers the last response.
    func followMailLink(to address: String, count: Int = 1, headers: [(String, String)] = []) throws -> HTTPResponse {
        let opened = try openMailLink(to: address, count: count, headers: headers)
        return try pressConfirmButton(on: opened) ?? opened
    }

    /// Only opens (GETs) the link of the `count`-th mail to `address`, as a mail scanner would.
    func openMailLink(to address: String, count: Int = 1, headers: [(String, String)] = []) throws -> HTTPResponse {
        let mail = try awaitMail(to: address, count: count)
        let link = try #require(mail.link(port: port), "a link in \(mail.text)")
        return try client.get(path(of: link), headers: headers)
    }

    /// Submits the confirmation page's form as a browser would (its hidden CSRF field and the
    /// `csrftoken` cookie the page set); nil when `page` has no such form.
    func pressConfirmButton(on page: HTTPResponse, headers: [(String, String)] = []) throws -> HTTPResponse? {
        guard page.status == 200, let form = ConfirmationForm(page) else { return nil }
        return try client.request("POST", form.action, headers: [("Cookie", "csrftoken=\(form.cookie)"),
                                                              ("Content-Type", "application/x-www-form-urlencoded")] + headers,
                                  body: Array("csrfmiddlewaretoken=\(form.token)".utf8), timeout: 30)
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

}

enum MailError: Error { case notReceived(String, Int) }

/// The confirmation page's form, read from its HTML and its `Set-Cookie`.
struct ConfirmationForm {
    var action: String
    var token: String
    var cookie: String

    init?(_ page: HTTPResponse) {
        func value(after marker: String) -> String? {
            guard let start = page.text.range(of: marker) else { return nil }
            return String(page.text[start.upperBound...].prefix { $0 != "\"" })
        }
        guard page.text.contains("name=\"csrfmiddlewaretoken\""), let action = value(after: "<form method=\"post\" action=\""),
              let token = value(after: "name=\"csrfmiddlewaretoken\" value=\""), let cookie = page.cookie("csrftoken") else { return nil }
        self.action = action
        self.token = token
        self.cookie = cookie
    }
}

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
