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
    /// Built byte by byte: this runs for every answer, and string interpolation with a capitalised
    /// copy of each header name was half of a verify/ request's instructions (bench/callgrind.sh).
    public func cgiBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128 + headerFields.count * 48 + body.count)
        bytes.append(contentsOf: "Status: ".utf8)
        Self.appendDecimal(status.code, to: &bytes)
        bytes.append(0x20)
        bytes.append(contentsOf: status.reasonPhrase.utf8)
        bytes.append(contentsOf: [0x0D, 0x0A])
        for field in headerFields {
            Self.appendDisplayName(field.name, to: &bytes)
            bytes.append(contentsOf: [0x3A, 0x20])  // ": "
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: [0x0D, 0x0A])
        }
        if !headerFields.contains(.contentLength) {
            bytes.append(contentsOf: "Content-Length: ".utf8)
            Self.appendDecimal(body.count, to: &bytes)
            bytes.append(contentsOf: [0x0D, 0x0A])
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        bytes.append(contentsOf: body)
        return bytes
    }

    /// `cache-control` → `Cache-Control`, as HTTP/1.1 clients are used to seeing them. A name
    /// spelled that way already (`.contentType`, `X-Auth-User-Id`) is written as it was created.
    private static func appendDisplayName(_ name: HTTPField.Name, to bytes: inout [UInt8]) {
        if let first = name.rawName.utf8.first, first >= 0x41 && first <= 0x5A {
            bytes.append(contentsOf: name.rawName.utf8)
            return
        }
        var canonical = name.canonicalName  // lowercase ASCII: a field name is a token
        canonical.withUTF8 { name in
            var startOfWord = true
            for byte in name {
                bytes.append(startOfWord && byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte)
                startOfWord = byte == 0x2D  // "-"
            }
        }
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &bytes) }
        bytes.append(UInt8(0x30 + value % 10))
    }
}
