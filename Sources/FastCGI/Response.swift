import HTTPTypes

/// An HTTP response produced by a handler: status, header fields and body bytes, nothing more.
public struct Response: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The bytes a FastCGI responder writes to its stdout stream: a CGI `Status` line, headers, blank line, body.
    public func cgiBytes() -> [UInt8] {
        var head = "Status: \(status.code) \(status.reasonPhrase)\r\n"
        for field in headerFields {
            head += "\(Self.displayName(field.name)): \(field.value)\r\n"
        }
        if !headerFields.contains(.contentLength) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// `cache-control` → `Cache-Control`, as HTTP/1.1 clients are used to seeing them.
    static func displayName(_ name: HTTPField.Name) -> String {
        name.canonicalName.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: "-")
    }
}
