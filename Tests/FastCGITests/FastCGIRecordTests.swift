import Testing
@testable import FastCGI

/// The FastCGI wire format the event loop reads and writes, including what a hostile or broken peer may send.
struct FastCGIRecordTests {
    /// FastCGI's name-value pair encoding: one byte for lengths below 128, four (high bit set) above.
    func encodePairs(_ pairs: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        func length(_ count: Int) {
            if count < 128 { out.append(UInt8(count)) } else {
                out.append(contentsOf: [UInt8(count >> 24) | 0x80, UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)])
            }
        }
        for (name, value) in pairs {
            length(name.utf8.count)
            length(value.count)
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: value)
        }
        return out
    }

    @Test func decodesShortAndLongPairs() throws {
        let token = [UInt8](repeating: 0x61, count: 1500)
        let pairs = try #require(FastCGIRecord.nameValuePairs(encodePairs([("REQUEST_METHOD", Array("GET".utf8)), ("HTTP_AUTHORIZATION", token), ("EMPTY", [])])))
        #expect(pairs.map(\.name) == ["REQUEST_METHOD", "HTTP_AUTHORIZATION", "EMPTY"])
        #expect(pairs[0].value == Array("GET".utf8))
        #expect(pairs[1].value == token)
        #expect(pairs[2].value.isEmpty)
    }

    @Test func refusesLengthsThatRunPastTheEnd() {
        // CVE-2025-23016 in libfcgi: a length near 2^31 overflowed its bounds check.
        #expect(FastCGIRecord.nameValuePairs([0x84, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0x41]) == nil)
        #expect(FastCGIRecord.nameValuePairs([0xFF, 0xFF, 0xFF, 0xFF, 1, 0x41]) == nil)
        #expect(FastCGIRecord.nameValuePairs([5, 1, 0x41]) == nil, "name shorter than announced")
        #expect(FastCGIRecord.nameValuePairs([1, 5, 0x41, 0x42]) == nil, "value shorter than announced")
        #expect(FastCGIRecord.nameValuePairs([0x80, 0]) == nil, "a four-byte length cut short")
        #expect(FastCGIRecord.nameValuePairs([])?.isEmpty == true)
    }

    @Test func anAnswerIsCutIntoRecordsOfAtMost65535BytesThenEnds() {
        let body = [UInt8](repeating: 0x7A, count: 70_000)
        let bytes = FastCGIRecord.answer(requestID: 7, stdout: body)
        var offset = 0
        var kinds: [(UInt8, Int)] = []
        var stdout: [UInt8] = []
        bytes.withUnsafeBytes { raw in
            while let header = FastCGIRecord.Header(raw, at: offset) {
                #expect(header.requestID == 7)
                kinds.append((header.type, header.contentLength))
                if header.type == FastCGIRecord.Kind.stdout.rawValue {
                    stdout.append(contentsOf: raw[(offset + 8)..<(offset + 8 + header.contentLength)])
                }
                offset += header.totalLength
            }
        }
        #expect(offset == bytes.count)
        #expect(kinds.map(\.0) == [6, 6, 6, 3])
        #expect(kinds.map(\.1) == [65535, 70_000 - 65535, 0, 8])
        #expect(stdout == body)
        #expect(Array(bytes.suffix(8)) == [0, 0, 0, 0, 0, 0, 0, 0], "appStatus 0, FCGI_REQUEST_COMPLETE")
    }
}
