import FastCGI
import Foundation
import Synchronization
@testable import AllauthHTTP

/// Sends a request to the service in this process as nginx would hand it to a worker: the
/// FastCGI params of `nginx/fastcgi-params.conf` (the normalised `DOCUMENT_URI`, `QUERY_STRING`,
/// `CONTENT_TYPE`, `CONTENT_LENGTH`, `REMOTE_ADDR`, `HTTPS` only on TLS) and every header as an
/// `HTTP_*` param, decoded by the transport's own `RequestDecoder`; the answer is read back from
/// the CGI bytes the worker would write. Like `HTTPClient`: no cookie jar, no redirects followed.
///
/// What nginx itself answers (its 413 over `client_max_body_size`, `limit_req`'s 429, the
/// metrics allowlist, malformed request lines) is not here: the end-to-end suites test it.
struct InProcessClient: HTTPRequesting, Sendable {
    let service: Service
    /// One thread's connection, as each request thread of a worker has; requests take turns on it.
    private let connection: SharedConnection
    let port: Int
    /// The client address nginx would pass (`REMOTE_ADDR`); the dev config has no realip.
    var remoteAddress = "127.0.0.1"
    /// Whether the client connection was TLS (`HTTPS=on`).
    var isSecure = false

    init(service: Service, connection: sending ThreadState, port: Int) {
        self.service = service
        self.connection = SharedConnection(connection)
        self.port = port
    }

    /// The same service and connection, as seen from another client address (or over TLS).
    func from(_ address: String, secure: Bool = false) -> InProcessClient {
        var other = self
        other.remoteAddress = address
        other.isSecure = secure
        return other
    }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [],
                 timeout: TimeInterval = 30) throws -> HTTPResponse {
        let request = RequestDecoder(maxBodyBytes: service.config.server.maxBodyBytes)
            .decode(params: params(method, path, headers: headers, body: body)) { count in Array(body.prefix(count)) }
        let response = connection.turn.withLock { service.handle(request, $0) }
        return try Self.read(response.cgiBytes())
    }

    /// The params nginx sends for this request (`fastcgi-params.conf` and the `HTTP_*` headers).
    func params(_ method: String, _ target: String, headers: [(String, String)], body: [UInt8]) -> [(name: String, value: [UInt8])] {
        let (uri, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        // HTTPClient's own headers, then the test's.
        var all: [(String, String)] = [("Host", "127.0.0.1:\(port)"), ("Connection", "close")]
        all += headers
        let hasLength = !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)
        if hasLength { all.append(("Content-Length", String(body.count))) }
        let contentType = all.last { $0.0.lowercased() == "content-type" }?.1 ?? ""
        var params: [(String, String)] = [
            ("REQUEST_METHOD", method), ("DOCUMENT_URI", Self.documentURI(uri)), ("QUERY_STRING", query),
            ("CONTENT_TYPE", contentType), ("CONTENT_LENGTH", hasLength ? String(body.count) : ""),
            ("REMOTE_ADDR", remoteAddress), ("SERVER_PROTOCOL", "HTTP/1.1"), ("GATEWAY_INTERFACE", "CGI/1.1"),
        ]
        if isSecure { params.append(("HTTPS", "on")) }
        // dev.conf's health/ location: the geo of the metrics allow-list (127.0.0.1 locally).
        if Self.documentURI(uri).hasSuffix("/health/") {
            params.append(("JWT_ALLAUTH_MONITORING", remoteAddress == "127.0.0.1" ? "1" : "0"))
        }
        // nginx drops header names with an underscore (underscores_in_headers off) and joins
        // repeated headers into one param, cookies with "; ".
        var joined: [(name: String, value: String)] = []
        for (name, value) in all where !name.contains("_") {
            let param = "HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            if let index = joined.firstIndex(where: { $0.name == param }) {
                joined[index].value += (param == "HTTP_COOKIE" ? "; " : ", ") + value
            } else {
                joined.append((param, value))
            }
        }
        params += joined.map { ($0.name, $0.value) }
        return params.map { (name: $0.0, value: Array($0.1.utf8)) }
    }

    /// nginx's `$document_uri`: percent-decoded, repeated slashes merged, `.` and `..` resolved.
    static func documentURI(_ uri: String) -> String {
        let decoded = uri.removingPercentEncoding ?? uri
        var segments: [Substring] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let trailing = decoded.hasSuffix("/") || decoded.hasSuffix("/.") || decoded.hasSuffix("/..")
        return "/" + segments.joined(separator: "/") + (trailing && !segments.isEmpty ? "/" : "")
    }

    final class SharedConnection: Sendable {
        let turn: Mutex<ThreadState>
        init(_ connection: sending ThreadState) { turn = Mutex(connection) }
    }

    /// The worker's CGI answer (`Status:` line, headers, body) as the HTTP response nginx makes of it.
    static func read(_ cgi: [UInt8]) throws -> HTTPResponse {
        let prefix = Array("Status: ".utf8)
        guard cgi.starts(with: prefix) else { throw HTTPClient.ClientError.malformed }
        return try HTTPClient.parse(Array("HTTP/1.1 ".utf8) + cgi.dropFirst(prefix.count))
    }
}
