import Foundation
@testable import AllauthDomain

#if canImport(Glibc)
import Glibc
#endif

/// A real SMTP server on a free loopback port for end-to-end tests: Debian's python3-aiosmtpd run
/// by `smtp_sink.py`, which stores each message it accepts as one file. It can be stopped, killed
/// and started again on the same port, made slow, made to refuse, and put behind STARTTLS or
/// implicit TLS with AUTH. Point an instance at it with `TestInstance(environment: sink.environment)`.
final class SMTPSink {
    enum Mode: String { case plain, starttls, tls }

    struct Options {
        /// Seconds the server waits after storing a message before it answers 250.
        var delay: Double = 0
        /// Refuse every recipient with this reply (e.g. "451 4.3.0 try later").
        var reply: String?
        var mode: Mode = .plain
        /// "user:password" the server requires (after TLS, unless plain).
        var auth: String?
    }

    let port: Int
    let directory: URL
    var options: Options
    /// For TLS modes: a throwaway self-signed certificate for 127.0.0.1 (openssl).
    let certificate: URL
    private let key: URL
    private var process: Process?

    init(_ options: Options = Options(), port: Int = TestInstance.freePort()) throws {
        self.options = options
        self.port = port
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString.prefix(8))")
        directory = root.appendingPathComponent("messages")
        certificate = root.appendingPathComponent("cert.pem")
        key = root.appendingPathComponent("key.pem")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if options.mode != .plain {
            try Self.makeCertificate(certificate: certificate, key: key)
        }
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory.deletingLastPathComponent())
    }

    /// The overrides that send an instance's mail here (add `JWT_ALLAUTH_MAIL_SMTP_CA_FILE` to trust
    /// the test certificate, which `trustingCertificate` does).
    var environment: [String: String] {
        [
            "JWT_ALLAUTH_MAIL_TRANSPORT": "smtp",
            "JWT_ALLAUTH_MAIL_SMTP_HOST": "127.0.0.1",
            "JWT_ALLAUTH_MAIL_SMTP_PORT": String(port),
            "JWT_ALLAUTH_MAIL_SMTP_SECURITY": ["plain": "none", "starttls": "starttls", "tls": "tls"][options.mode.rawValue]!,
        ]
    }

    var trustingCertificate: [String: String] {
        environment.merging(["JWT_ALLAUTH_MAIL_SMTP_CA_FILE": certificate.path]) { $1 }
    }

    static var script: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py") }

    /// Starts the server (again) on `port` and waits, at most 15 s, until it accepts connections.
    func start() throws {
        var arguments = ["--port", String(port), "--dir", directory.path, "--mode", options.mode.rawValue, "--delay", String(options.delay)]
        if let reply = options.reply { arguments += ["--reply", reply] }
        if let auth = options.auth { arguments += ["--auth", auth] }
        if options.mode != .plain { arguments += ["--cert", certificate.path, "--key", key.path] }
        let logPath = directory.deletingLastPathComponent().appendingPathComponent("sink.log").path
        let port = self.port
        do {
            process = try PythonHelper.start(Self.script, arguments, logPath: logPath) { Self.accepts(port: port) }
        } catch let error as PythonHelper.NotStarted {
            throw SinkError.didNotStart(error.log)
        }
    }

    enum SinkError: Error { case didNotStart(String), timedOut(expected: Int, got: Int) }

    /// SIGTERM and wait for the exit.
    func stop() { signal(SIGTERM) }

    /// SIGKILL: the server vanishes mid-conversation.
    func kill() { signal(SIGKILL) }

    /// Signals the server and waits for it, at most 5 s before SIGKILL.
    private func signal(_ signal: Int32) {
        PythonHelper.stop(process, signal: signal)
        process = nil
    }

    /// Every message stored so far, in arrival order.
    var messages: [ReceivedMail] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }
            .sorted { (Int($0.dropLast(4)) ?? 0) < (Int($1.dropLast(4)) ?? 0) }
            .compactMap { try? ReceivedMail(String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
    }

    /// Waits (at most `timeout`) until `count` messages arrived; answers them all.
    @discardableResult
    func waitForMessages(_ count: Int, timeout: TimeInterval = 20) throws -> [ReceivedMail] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let received = messages
            if received.count >= count { return received }
            if Date() > deadline { throw SinkError.timedOut(expected: count, got: received.count) }
            usleep(50_000)
        }
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, valid for a day.
    static func makeCertificate(certificate: URL, key: URL) throws {
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key.path, "-out", certificate.path, "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw SinkError.didNotStart("openssl req failed") }
    }
}

/// One message as the sink stored it, parsed enough for assertions: the envelope, the unfolded
/// headers (Subject decoded from RFC 2047), the decoded text and HTML parts, and links.
struct ReceivedMail {
    let raw: String
    let headers: [(name: String, value: String)]
    let text: String?
    let html: String?

    init(_ raw: String) {
        self.raw = raw
        let (headers, body) = Self.split(raw)
        self.headers = headers
        var text: String?
        var html: String?
        let contentType = Self.value("Content-Type", in: headers) ?? "text/plain"
        if contentType.lowercased().hasPrefix("multipart/"), let boundary = DeliveredMail.parameter("boundary", of: contentType) {
            for chunk in body.components(separatedBy: "--\(boundary)").dropFirst() where !chunk.hasPrefix("--") {
                var (partHeaders, partBody) = Self.split(String(chunk.drop { $0.isNewline }))
                if partBody.hasSuffix("\r\n") { partBody.removeLast() }
                let decoded = DeliveredMail.decode(partBody, encoding: Self.value("Content-Transfer-Encoding", in: partHeaders))
                let type = (Self.value("Content-Type", in: partHeaders) ?? "").lowercased()
                if type.hasPrefix("text/plain") { text = decoded } else if type.hasPrefix("text/html") { html = decoded }
            }
        } else {
            // The last CRLF ends the message, not the text (as the one before a boundary does).
            var content = body
            if content.hasSuffix("\r\n") { content.removeLast() }
            text = DeliveredMail.decode(content, encoding: Self.value("Content-Transfer-Encoding", in: headers))
        }
        self.text = text
        self.html = html
    }

    func header(_ name: String) -> String? { Self.value(name, in: headers) }
    var envelopeFrom: String? { header("X-Sink-Mail-From") }
    var envelopeTo: String? { header("X-Sink-Rcpt-To") }
    var messageID: String? { header("Message-ID") }
    var subject: String? { header("Subject").map(Self.decodeWords) }

    /// Every http(s) URL in the text part.
    var links: [String] {
        guard let text else { return [] }
        let pattern = try! NSRegularExpression(pattern: #"https?://[^\s<>"]+"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    func link(containing fragment: String) -> String? { links.first { $0.contains(fragment) } }

    // MARK: parsing

    private static func split(_ text: String) -> ([(name: String, value: String)], String) {
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        var headers: [(name: String, value: String)] = []
        for line in head.components(separatedBy: "\r\n") {
            if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.name, last.value + line))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, body)
    }

    private static func value(_ name: String, in headers: [(name: String, value: String)]) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// RFC 2047: `=?UTF-8?B?…?=` / `=?UTF-8?Q?…?=` words; whitespace between two words is dropped.
    static func decodeWords(_ value: String) -> String {
        let pattern = try! NSRegularExpression(pattern: #"=\?([^?]+)\?([BbQq])\?([^?]*)\?="#)
        let between = try! NSRegularExpression(pattern: #"(\?=)\s+(=\?)"#)
        let joined = between.stringByReplacingMatches(in: value, range: NSRange(value.startIndex..., in: value), withTemplate: "$1$2")
        var result = ""
        var last = joined.startIndex
        for match in pattern.matches(in: joined, range: NSRange(joined.startIndex..., in: joined)) {
            guard let range = Range(match.range, in: joined), let kind = Range(match.range(at: 2), in: joined),
                  let payload = Range(match.range(at: 3), in: joined) else { continue }
            result += joined[last..<range.lowerBound]
            let data = String(joined[payload])
            if joined[kind].lowercased() == "b" {
                result += String(decoding: Data(base64Encoded: data) ?? Data(), as: UTF8.self)
            } else {
                result += DeliveredMail.decodeQuotedPrintable(data.replacingOccurrences(of: "_", with: " "))
            }
            last = range.upperBound
        }
        return result + joined[last...]
    }
}
