import Dispatch
import Testing
@testable import UNetTrain
import UNetData
import UNetTensor
import _TestSupport
import _UNetSupport

/// PNG writing: whole files under concurrent writers of one path, errors naming the file.
@Suite struct PNGFileTests {
    /// Eight writers of one path at once, each with its own canvas, all succeed (they used to share one
    /// temporary name and clobber or fail each other's rename); the file left is exactly one of them and no
    /// temporary file remains.
    @Test func concurrentWritersOfOnePathEachLeaveAWholeFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("loss_curves.png")
        let canvases = (0..<8).map { i in
            var canvas = Canvas(width: 64 + i, height: 48, background: .white)
            canvas.line(0, 0, Double(63 + i), Double(i * 5), Canvas.Color(UInt8(i * 30), 0, 0))
            return canvas
        }
        let encodings = try canvases.map { try PNGFile.encode($0, path: path) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: canvases.count * 4) { i in
            do throws(UnetsegError) {
                try PNGFile.write(canvases[i % canvases.count], to: path)
            } catch {
                failures.withLock { $0.append(error.message) }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(encodings.contains(try FileSystem.readBytes(path)))
        #expect(try FileSystem.listDirectory(folder.path) == ["loss_curves.png"])
    }

    @Test func aWriteErrorNamesTheFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("missing/predictions.png")
        do throws(UnetsegError) {
            try PNGFile.write(Canvas(width: 4, height: 4), to: path)
            Issue.record("wrote into a missing folder")
        } catch {
            #expect(error == .io(error.message) && error.message.contains(path), "\(error)")
        }
    }
}

