"""Seed inputs for the fuzz targets, built in code from real encoders and real files.

Every seed is a valid (or deliberately, realistically broken) input of its parser, so that
mutations start deep inside the format rather than at its first length check:

- PDUs: an A-ASSOCIATE-RQ encoded by pynetdicom from a primitive, P-DATA-TF PDUs made by our
  own ``pdata_pdus`` (command set and data set fragments), release and abort PDUs;
- command sets from ``CStoreRQ`` / ``CStoreRSP`` / ``CEchoRQ`` / ``CEchoRSP.encode()``;
- data sets and Part 10 files from pydicom's bundled test files (listed from the package
  folder directly: ``get_testdata_files()`` would try to download);
- a zip of two of those files (stored, deflated, bzip2, LZMA), zip bombs of each method
  with honest and with lying sizes, and the DICOMDIR of the bundled media.

``seeds(target)`` returns the seeds of one target (``tests.fuzz.targets.TARGETS``); the
functions are cached, and nothing here touches the network.
"""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
import zipfile
from pathlib import Path

import pydicom
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
)
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    AsynchronousOperationsWindowNegotiation,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
    UserIdentityNegotiation,
)
from pynetdicom.presentation import build_context

from core.dicom.transcode import parse_meta
from core.net import dimse

PYDICOM_DATA = Path(pydicom.__file__).resolve().parent / "data"
TEST_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"
MEDIA = TEST_FILES / "dicomdirtests" / "TINY_ALPHA"  # a DICOMDIR with the files it names

# Small files (a few KB each) that between them cover the uncompressed syntaxes, encapsulated
# and deflated data, sequences (nested, private, UN), character sets and broken files.
PART10_FILES = (
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "MR_truncated.dcm",
    "SC_rgb_small_odd.dcm",
    "JPEG2000.dcm",
    "image_dfl.dcm",
    "rtplan.dcm",
    "rtplan_truncated.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "priv_SQ.dcm",
    "nested_priv_SQ.dcm",
    "UN_sequence.dcm",
    "badVR.dcm",
    "empty_charset_LEI.dcm",
    "meta_missing_tsyntax.dcm",
)
NO_META_FILES = ("ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm", "no_meta_group_length.dcm")
CHARSET_SEEDS = ("chrH32.dcm", "chrJapMulti.dcm", "chrRuss.dcm", "chrX1.dcm", "chrSQEncoding.dcm")
ZIP_MEMBERS = ("MR_small.dcm", "rtplan.dcm")
SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)


def _existing(folder: Path, names: tuple[str, ...]) -> list[Path]:
    return [folder / name for name in names if (folder / name).is_file()]


@functools.cache
def part10_files() -> tuple[bytes, ...]:
    """Whole files as a peer or a USB stick would hand them to us."""
    paths = (
        _existing(TEST_FILES, PART10_FILES)
        + _existing(TEST_FILES, NO_META_FILES)
        + _existing(CHARSET_FILES, CHARSET_SEEDS)
    )
    return tuple(path.read_bytes() for path in paths)


def _encoded_dataset(path: Path, syntax: str) -> bytes | None:
    """The data set of ``path`` (pixel data dropped) encoded in ``syntax``, without meta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            for _element in ds.iterall():  # convert raw elements once, as the writer needs
                pass
            if "PixelData" in ds:
                del ds.PixelData
            buffer = DicomBytesIO()
            buffer.is_little_endian = syntax != ExplicitVRBigEndian
            buffer.is_implicit_VR = syntax == ImplicitVRLittleEndian
            write_dataset(buffer, ds)
        except Exception:  # a deliberately broken bundled file: not a seed for this form
            return None
    return buffer.getvalue()


@functools.cache
def datasets() -> tuple[tuple[str, bytes], ...]:
    """(transfer syntax, data set) pairs: what a C-STORE carries after its command set."""
    pairs: list[tuple[str, bytes]] = []
    sources = _existing(TEST_FILES, ("MR_small.dcm", "rtplan.dcm", "test-SR.dcm", "priv_SQ.dcm"))
    sources += _existing(CHARSET_FILES, ("chrH32.dcm", "chrSQEncoding.dcm"))
    for path in sources:
        for syntax in SYNTAXES:
            encoded = _encoded_dataset(path, syntax)
            if encoded is not None:
                pairs.append((str(syntax), encoded))
    for raw in part10_files()[:4]:  # the data sets exactly as the files hold them
        try:
            layout = parse_meta(raw)
        except ValueError:
            continue
        if layout.transfer_syntax in SYNTAXES:
            pairs.append((layout.transfer_syntax, raw[layout.dataset_offset :]))
    return tuple(pairs)


def scan_inputs() -> list[bytes]:
    """Inputs of the ``scan_dataset`` targets: one byte choosing the syntax, then a data set."""
    return [bytes([SYNTAXES.index(syntax)]) + data for syntax, data in datasets()]


# -- the upper layer ------------------------------------------------------------------------------
def association_answers() -> list[bytes]:
    """A-ASSOCIATE-AC PDUs as pynetdicom encodes them (accepted, refused and unproposed
    contexts, a maximum PDU length, an implementation UID), and A-ASSOCIATE-RJ PDUs."""
    from tests.support.pdus import associate_ac

    implicit, explicit = str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian)
    found = [
        associate_ac(16384, [(1, 0, implicit), (3, 4, explicit)]),
        associate_ac(0, [(1, 0, explicit), (5, 0, implicit), (7, 3, implicit)]),
    ]
    for result, source in ((1, 1), (2, 3)):  # and two rejections
        found.append(bytes((3, 0, 0, 0, 0, 4, 0, result, source, 1)))
    return found


def association_request() -> bytes:
    """A realistic A-ASSOCIATE-RQ PDU, encoded by pynetdicom from a primitive."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = "STORESCU"
    primitive.called_ae_title = "KIOSK"
    contexts = []
    for number, abstract in enumerate(
        (CTImageStorage, MRImageStorage, dimse.VERIFICATION_SOP_CLASS), start=0
    ):
        context = build_context(abstract, [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
        context.context_id = 2 * number + 1
        contexts.append(context)
    primitive.presentation_context_definition_list = contexts
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16382
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = PYDICOM_IMPLEMENTATION_UID
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = "FUZZ_SEED_1"
    role = SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = CTImageStorage
    role.scu_role = True
    role.scp_role = False
    window = AsynchronousOperationsWindowNegotiation()
    window.maximum_number_operations_invoked = 1
    window.maximum_number_operations_performed = 1
    identity = UserIdentityNegotiation()
    identity.user_identity_type = 2
    identity.primary_field = b"user"
    identity.secondary_field = b"password"
    identity.positive_response_requested = True
    primitive.user_information = [maximum, implementation, version, role, window, identity]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def command_sets() -> list[bytes]:
    uid = "1.2.826.0.1.3680043.8.498.1"
    return [
        dimse.CStoreRQ(1, str(CTImageStorage), uid).encode(),
        dimse.CStoreRQ(
            7, str(MRImageStorage), uid, dimse.PRIORITY_HIGH, "MOVESCU", move_originator_id=3
        ).encode(),
        dimse.CStoreRSP(1, str(CTImageStorage), uid, 0xA700, "out of resources").encode(),
        dimse.CEchoRQ(2).encode(),
        dimse.CEchoRSP(2, 0x0000).encode(),
    ]


@functools.cache
def _store_message_pdus() -> tuple[bytes, ...]:
    """P-DATA-TF PDUs of one C-STORE: the command set, then the data set in fragments."""
    syntax, dataset = datasets()[0]
    command = dimse.CStoreRQ(1, str(CTImageStorage), "1.2.826.0.1.3680043.8.498.1").encode()
    return tuple(dimse.pdata_pdus(1, command, dataset[:2000], 512))


def pdu_streams() -> list[bytes]:
    """What a peer sends after the association request, and the request itself."""
    pdata = _store_message_pdus()
    echo = b"".join(dimse.pdata_pdus(5, dimse.CEchoRQ(3).encode(), None, 16384))
    return [
        association_request(),
        b"".join(pdata) + dimse.RELEASE_RQ,
        pdata[0],
        echo + dimse.RELEASE_RQ,
        dimse.encode_abort(dimse.ABORT_SOURCE_PROVIDER, dimse.ABORT_REASON_UNEXPECTED_PDU),
        dimse.RELEASE_RP,
    ]


def pdu_alloc_inputs() -> list[bytes]:
    """``pdu_alloc`` inputs: two bytes of filler length (in 64-byte units), then a stream."""
    announced = dimse.encode_pdu(dimse.P_DATA_TF, b"")[:2] + (1 << 20).to_bytes(4, "big")
    return [b"\x00\x00" + stream for stream in pdu_streams()] + [b"\x00\x00" + announced]


def pdv_payloads() -> list[bytes]:
    """P-DATA-TF payloads (the PDU without its 6-byte header), one or several PDVs each."""
    payloads = [pdu[6:] for pdu in _store_message_pdus()[:4]]
    payloads.append(b"".join(payloads))  # several PDVs in one PDU
    return payloads


# -- files as imported ----------------------------------------------------------------------------
ZIP_METHODS = (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def zip_archives() -> list[bytes]:
    members = _existing(TEST_FILES, ZIP_MEMBERS)
    archives = []
    for compression in ZIP_METHODS:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            for path in members:
                archive.write(path, f"DICOM/{path.name}")
            archive.writestr("DICOM/", b"")  # a folder entry
        archives.append(buffer.getvalue())
    return archives


def _announcing(raw: bytes, file_size: int) -> bytes:
    """A one-member zip whose headers announce ``file_size`` expanded bytes (a lie)."""
    data = bytearray(raw)
    data[22:26] = file_size.to_bytes(4, "little")  # local file header (APPNOTE 4.3.7)
    central = raw.find(b"PK\x01\x02") + 24  # central directory header (APPNOTE 4.3.12)
    data[central : central + 4] = file_size.to_bytes(4, "little")
    return bytes(data)


ZIP_BOMB_BYTES = 256 << 10  # four times import_zip_alloc's per-file limit; expanded and
# parsed under the default limits, a larger run of zeros would make each example slow: pydicom
# reads zeros as empty elements, about 3 s per 8 MiB


@functools.cache
def zip_bombs() -> tuple[bytes, ...]:
    """Small zips of ``ZIP_BOMB_BYTES`` zeros (written in pieces, as a stream), compressed
    about 1000 to 6000 times: each method with honest sizes, and each announcing 1000 bytes."""
    bombs = []
    for compression in ZIP_METHODS[:1] + ZIP_METHODS[2:]:  # stored zeros are not small
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            with archive.open("DICOM/IM1", "w") as member:
                for _ in range(ZIP_BOMB_BYTES >> 16):
                    member.write(bytes(1 << 16))
        bombs += [buffer.getvalue(), _announcing(buffer.getvalue(), 1000)]
    return tuple(bombs)


def dicomdirs() -> list[bytes]:
    dicomdir = MEDIA / "DICOMDIR"
    return [dicomdir.read_bytes()] if dicomdir.is_file() else []


def seeds(target: str) -> list[bytes]:
    """The seed inputs of ``target`` (a name in ``tests.fuzz.targets.TARGETS``)."""
    table = {
        "pdu_read": pdu_streams,
        "pdu_alloc": pdu_alloc_inputs,
        "pdvs": pdv_payloads,
        "command_elements": command_sets,
        "command_message": command_sets,
        "scan_dataset": scan_inputs,
        "scan_vs_reader": scan_inputs,
        "parse_instance": lambda: list(part10_files()),
        "header_of": lambda: list(part10_files()),
        "part10_meta": lambda: list(part10_files()),
        "associate_rq": lambda: [association_request()],
        "import_file": lambda: list(part10_files()),
        "import_zip": lambda: zip_archives() + list(zip_bombs()),
        "import_zip_alloc": lambda: zip_archives() + list(zip_bombs()),
        "import_dicomdir": dicomdirs,
        "find_answer": lambda: [bytes([k]) + d for _n, d in datasets() for k in range(3)],
        "export_walk": lambda: list(part10_files()),
        "associate_answer": association_answers,
    }
    return list(table[target]())


# -- regression inputs ----------------------------------------------------------------------------
REGRESSIONS = Path(__file__).resolve().parent / "regressions"


def regression_name(target: str, data: bytes) -> str:
    """``<target>-<short hash>.bin``: the name a finding's input is kept under."""
    return f"{target}-{hashlib.sha1(data).hexdigest()[:12]}.bin"


def regression_inputs(target: str | None = None) -> list[Path]:
    """The kept inputs of ``target`` (every target's when None), sorted by name."""
    if not REGRESSIONS.is_dir():
        return []
    return sorted(
        path
        for path in REGRESSIONS.glob("*.bin")
        if target is None or path.name.rsplit("-", 1)[0] == target
    )
