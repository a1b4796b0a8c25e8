import HTTPTypes

/// The check `HTTPField` makes of a field value, done where the value is kept outside `HTTPFields`
/// (`Request.authorization`, the `Cookie` header): a legal value is kept as it is, any other is
/// legalized by `HTTPField` itself, so both paths give the same string for every input.
enum HeaderValue {
    /// `value` as `HTTPField(name:value:)` would store it.
    static func legalized(_ value: String) -> String {
        var value = value
        let legal = value.withUTF8 { isLegal($0) }
        return legal ? value : HTTPField(name: .authorization, value: value).value
    }

    /// RFC 9110 field-value: visible ASCII, obs-text (0x80–0xFF), and spaces or tabs inside but not
    /// at either end; an empty value is legal. One pass with no branch per byte (the loop
    /// vectorises): `HTTPField`'s own check went byte by byte at ~15 instructions each.
    static func isLegal(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last else { return true }
        if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return false }
        var illegal: UInt8 = 0
        for byte in bytes {
            // A control character other than the tab, or DEL.
            let control: UInt8 = byte < 0x20 && byte != 0x09 ? 1 : 0
            let delete: UInt8 = byte == 0x7F ? 1 : 0
            illegal |= control | delete
        }
        return illegal == 0
    }
}
