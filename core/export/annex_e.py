"""The action table of the Basic Application Level Confidentiality Profile.

Source: DICOM PS3.15 (edition 2026c), Annex E, Table E.1-1 "Application Level Confidentiality
Profile Attributes", column "Basic Prof.". The table was transcribed from the standard's HTML
edition by the dicom-anonymizer project (KitwareMedical, BSD-3-Clause), release 2.1.0, module
``dicomanonymizer/dicom_anonymization_databases/dicomfields_2026c.py``, and converted to this
module unchanged: one entry per attribute, tag -> action code (converted mechanically, so a
newer edition of the table can replace it the same way), with one correction, marked where
it is (Content Sequence).

Action codes (PS3.15 E.1.1): D replace with a non-zero length dummy value; Z replace with a zero
length value (or a dummy); X remove; U replace with a UID consistent within the set of instances;
compound codes (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) depend on the IOD's attribute type.
"""

from __future__ import annotations

import functools

BASIC_PROFILE: dict[int, str] = {
    0x00001000: "X",  # Affected SOP Instance UID
    0x00001001: "U",  # Requested SOP Instance UID
    0x00020003: "U",  # Media Storage SOP Instance UID
    0x00041511: "U",  # Referenced SOP Instance UID in File
    0x00080012: "X/D",  # Instance Creation Date
    0x00080013: "X/Z/D",  # Instance Creation Time
    0x00080014: "U",  # Instance Creator UID
    0x00080015: "X",  # Instance Coercion DateTime
    0x00080017: "U",  # Acquisition UID
    0x00080018: "U",  # SOP Instance UID
    0x00080019: "U",  # Pyramid UID
    0x00080020: "Z",  # Study Date
    0x00080021: "X/D",  # Series Date
    0x00080022: "X/Z",  # Acquisition Date
    0x00080023: "Z/D",  # Content Date
    0x00080024: "X",  # Overlay Date
    0x00080025: "X",  # Curve Date
    0x0008002A: "X/Z/D",  # Acquisition DateTime
    0x00080030: "Z",  # Study Time
    0x00080031: "X/D",  # Series Time
    0x00080032: "X/Z",  # Acquisition Time
    0x00080033: "Z/D",  # Content Time
    0x00080034: "X",  # Overlay Time
    0x00080035: "X",  # Curve Time
    0x00080050: "Z",  # Accession Number
    0x00080054: "X",  # Retrieve AE Title
    0x00080055: "X",  # Station AE Title
    0x00080058: "U",  # Failed SOP Instance UID List
    0x00080080: "X/Z/D",  # Institution Name
    0x00080081: "X",  # Institution Address
    0x00080082: "X/Z/D",  # Institution Code Sequence
    0x00080090: "Z",  # Referring Physician's Name
    0x00080092: "X",  # Referring Physician's Address
    0x00080094: "X",  # Referring Physician's Telephone Numbers
    0x00080096: "X",  # Referring Physician Identification Sequence
    0x0008009C: "Z",  # Consulting Physician's Name
    0x0008009D: "X",  # Consulting Physician Identification Sequence
    0x00080106: "D",  # Context Group Version
    0x00080107: "D",  # Context Group Local Version
    0x00080201: "X",  # Timezone Offset From UTC
    0x00081000: "X",  # Network ID
    0x00081010: "X/Z/D",  # Station Name
    0x00081030: "X",  # Study Description
    0x0008103E: "X",  # Series Description
    0x00081040: "X",  # Institutional Department Name
    0x00081041: "X",  # Institutional Department Type Code Sequence
    0x00081048: "X",  # Physician(s) of Record
    0x00081049: "X",  # Physician(s) of Record Identification Sequence
    0x00081050: "X",  # Performing Physician's Name
    0x00081052: "X",  # Performing Physician Identification Sequence
    0x00081060: "X",  # Name of Physician(s) Reading Study
    0x00081062: "X",  # Physician(s) Reading Study Identification Sequence
    0x00081070: "X/Z/D",  # Operators' Name
    0x00081072: "X/D",  # Operator Identification Sequence
    0x00081080: "X",  # Admitting Diagnoses Description
    0x00081084: "X",  # Admitting Diagnoses Code Sequence
    0x00081088: "X",  # Pyramid Description
    0x00081110: "X/Z",  # Referenced Study Sequence
    0x00081111: "X/Z/D",  # Referenced Performed Procedure Step Sequence
    0x00081120: "X",  # Referenced Patient Sequence
    0x00081140: "X/Z/U*",  # Referenced Image Sequence
    0x00081155: "U",  # Referenced SOP Instance UID
    0x00081195: "U",  # Transaction UID
    0x00081301: "X",  # Principal Diagnosis Code Sequence
    0x00081302: "X",  # Primary Diagnosis Code Sequence
    0x00081303: "X",  # Secondary Diagnoses Code Sequence
    0x00081304: "X",  # Histological Diagnoses Code Sequence
    0x00082111: "X",  # Derivation Description
    0x00082112: "X/Z/U*",  # Source Image Sequence
    0x00083010: "U",  # Irradiation Event UID
    0x00084000: "X",  # Identifying Comments
    0x00100010: "Z",  # Patient's Name
    0x00100011: "X",  # Person Names to Use Sequence
    0x00100012: "X",  # Name to Use
    0x00100013: "X",  # Name to Use Comment
    0x00100014: "X",  # Third Person Pronouns Sequence
    0x00100015: "X",  # Pronoun Code Sequence
    0x00100016: "X",  # Pronoun Comment
    0x00100020: "Z/D",  # Patient ID
    0x00100021: "X",  # Issuer of Patient ID
    0x00100030: "Z",  # Patient's Birth Date
    0x00100032: "X",  # Patient's Birth Time
    0x00100040: "Z",  # Patient's Sex
    0x00100041: "X",  # Gender Identity Sequence
    0x00100042: "X",  # Sex Parameters for Clinical Use Category Comment
    0x00100043: "X",  # Sex Parameters for Clinical Use Category Sequence
    0x00100044: "X",  # Gender Identity Code Sequence
    0x00100045: "X",  # Gender Identity Comment
    0x00100046: "X",  # Sex Parameters for Clinical Use Category Code Sequence
    0x00100047: "X",  # Sex Parameters for Clinical Use Category Reference
    0x00100050: "X",  # Patient's Insurance Plan Code Sequence
    0x00100101: "X",  # Patient's Primary Language Code Sequence
    0x00100102: "X",  # Patient's Primary Language Modifier Code Sequence
    0x00101000: "X",  # Other Patient IDs
    0x00101001: "X",  # Other Patient Names
    0x00101002: "X",  # Other Patient IDs Sequence
    0x00101005: "X",  # Patient's Birth Name
    0x00101010: "X",  # Patient's Age
    0x00101020: "X",  # Patient's Size
    0x00101030: "X",  # Patient's Weight
    0x00101040: "X",  # Patient's Address
    0x00101050: "X",  # Insurance Plan Identification
    0x00101060: "X",  # Patient's Mother's Birth Name
    0x00101080: "X",  # Military Rank
    0x00101081: "X",  # Branch of Service
    0x00101090: "X",  # Medical Record Locator
    0x00101100: "X",  # Referenced Patient Photo Sequence
    0x00102000: "X",  # Medical Alerts
    0x00102110: "X",  # Allergies
    0x00102150: "X",  # Country of Residence
    0x00102152: "X",  # Region of Residence
    0x00102154: "X",  # Patient's Telephone Numbers
    0x00102155: "X",  # Patient's Telecom Information
    0x00102160: "X",  # Ethnic Group
    0x00102161: "X",  # Ethnic Group Code Sequence
    0x00102162: "X",  # Ethnic Groups
    0x00102180: "X",  # Occupation
    0x001021A0: "X",  # Smoking Status
    0x001021B0: "X",  # Additional Patient History
    0x001021C0: "X",  # Pregnancy Status
    0x001021D0: "X",  # Last Menstrual Date
    0x001021F0: "X",  # Patient's Religious Preference
    0x00102203: "X/Z",  # Patient's Sex Neutered
    0x00102297: "X",  # Responsible Person
    0x00102299: "X",  # Responsible Organization
    0x00104000: "X",  # Patient Comments
    0x00120010: "D",  # Clinical Trial Sponsor Name
    0x00120020: "D",  # Clinical Trial Protocol ID
    0x00120021: "Z",  # Clinical Trial Protocol Name
    0x00120022: "X",  # Issuer of Clinical Trial Protocol ID
    0x00120023: "X",  # Other Clinical Trial Protocol IDs Sequence
    0x00120030: "Z",  # Clinical Trial Site ID
    0x00120031: "Z",  # Clinical Trial Site Name
    0x00120032: "X",  # Issuer of Clinical Trial Site ID
    0x00120040: "D",  # Clinical Trial Subject ID
    0x00120041: "X",  # Issuer of Clinical Trial Subject ID
    0x00120042: "D",  # Clinical Trial Subject Reading ID
    0x00120043: "X",  # Issuer of Clinical Trial Subject Reading ID
    0x00120050: "Z",  # Clinical Trial Time Point ID
    0x00120051: "X",  # Clinical Trial Time Point Description
    0x00120055: "X",  # Issuer of Clinical Trial Time Point ID
    0x00120060: "Z",  # Clinical Trial Coordinating Center Name
    0x00120071: "X",  # Clinical Trial Series ID
    0x00120072: "X",  # Clinical Trial Series Description
    0x00120073: "X",  # Issuer of Clinical Trial Series ID
    0x00120081: "D",  # Clinical Trial Protocol Ethics Committee Name
    0x00120082: "X",  # Clinical Trial Protocol Ethics Committee Approval Number
    0x00120086: "X",  # Ethics Committee Approval Effectiveness Start Date
    0x00120087: "X",  # Ethics Committee Approval Effectiveness End Date
    0x0014407C: "X",  # Calibration Time
    0x0014407E: "X",  # Calibration Date
    0x0016002B: "X",  # Maker Note
    0x0016004B: "X",  # Device Setting Description
    0x0016004D: "X",  # Camera Owner Name
    0x0016004E: "X",  # Lens Specification
    0x0016004F: "X",  # Lens Make
    0x00160050: "X",  # Lens Model
    0x00160051: "X",  # Lens Serial Number
    0x00160070: "X",  # GPS Version ID
    0x00160071: "X",  # GPS Latitude Ref
    0x00160072: "X",  # GPS Latitude
    0x00160073: "X",  # GPS Longitude Ref
    0x00160074: "X",  # GPS Longitude
    0x00160075: "X",  # GPS Altitude Ref
    0x00160076: "X",  # GPS Altitude
    0x00160077: "X",  # GPS Time Stamp
    0x00160078: "X",  # GPS Satellites
    0x00160079: "X",  # GPS Status
    0x0016007A: "X",  # GPS Measure Mode
    0x0016007B: "X",  # GPS DOP
    0x0016007C: "X",  # GPS Speed Ref
    0x0016007D: "X",  # GPS Speed
    0x0016007E: "X",  # GPS Track Ref
    0x0016007F: "X",  # GPS Track
    0x00160080: "X",  # GPS Img Direction Ref
    0x00160081: "X",  # GPS Img Direction
    0x00160082: "X",  # GPS Map Datum
    0x00160083: "X",  # GPS Dest Latitude Ref
    0x00160084: "X",  # GPS Dest Latitude
    0x00160085: "X",  # GPS Dest Longitude Ref
    0x00160086: "X",  # GPS Dest Longitude
    0x00160087: "X",  # GPS Dest Bearing Ref
    0x00160088: "X",  # GPS Dest Bearing
    0x00160089: "X",  # GPS Dest Distance Ref
    0x0016008A: "X",  # GPS Dest Distance
    0x0016008B: "X",  # GPS Processing Method
    0x0016008C: "X",  # GPS Area Information
    0x0016008D: "X",  # GPS Date Stamp
    0x0016008E: "X",  # GPS Differential
    0x00180010: "Z/D",  # Contrast/Bolus Agent
    0x00180027: "X",  # Intervention Drug Stop Time
    0x00180035: "X",  # Intervention Drug Start Time
    0x00181000: "X/Z/D",  # Device Serial Number
    0x00181002: "U",  # Device UID
    0x00181004: "X",  # Plate ID
    0x00181005: "X",  # Generator ID
    0x00181007: "X",  # Cassette ID
    0x00181008: "X",  # Gantry ID
    0x00181009: "X",  # Unique Device Identifier
    0x0018100A: "X",  # UDI Sequence
    0x0018100B: "U",  # Manufacturer's Device Class UID
    0x00181010: "X",  # Secondary Capture Device ID
    0x00181011: "X",  # Hardcopy Creation Device ID
    0x00181012: "X",  # Date of Secondary Capture
    0x00181014: "X",  # Time of Secondary Capture
    0x00181030: "X/D",  # Protocol Name
    0x00181042: "X",  # Contrast/Bolus Start Time
    0x00181043: "X",  # Contrast/Bolus Stop Time
    0x00181072: "X",  # Radiopharmaceutical Start Time
    0x00181073: "X",  # Radiopharmaceutical Stop Time
    0x00181078: "X",  # Radiopharmaceutical Start DateTime
    0x00181079: "X",  # Radiopharmaceutical Stop DateTime
    0x001811BB: "D",  # Acquisition Field Of View Label
    0x00181200: "X",  # Date of Last Calibration
    0x00181201: "X",  # Time of Last Calibration
    0x00181202: "X",  # DateTime of Last Calibration
    0x00181203: "Z",  # Calibration DateTime
    0x00181204: "X",  # Date of Manufacture
    0x00181205: "X",  # Date of Installation
    0x00181400: "X/D",  # Acquisition Device Processing Description
    0x00182042: "U",  # Target UID
    0x00184000: "X",  # Acquisition Comments
    0x00185011: "X",  # Transducer Identification Sequence
    0x0018700A: "X/D",  # Detector ID
    0x0018700C: "X/D",  # Date of Last Detector Calibration
    0x0018700E: "X/D",  # Time of Last Detector Calibration
    0x00189074: "D",  # Frame Acquisition DateTime
    0x00189151: "D",  # Frame Reference DateTime
    0x00189185: "X",  # Respiratory Motion Compensation Technique Description
    0x00189367: "D",  # X-Ray Source ID
    0x00189369: "D",  # Source Start DateTime
    0x0018936A: "D",  # Source End DateTime
    0x00189371: "D",  # X-Ray Detector ID
    0x00189373: "X",  # X-Ray Detector Label
    0x0018937B: "X",  # Multi-energy Acquisition Description
    0x0018937F: "X",  # Decomposition Description
    0x00189424: "X",  # Acquisition Protocol Description
    0x00189516: "X/D",  # Start Acquisition DateTime
    0x00189517: "X/D",  # End Acquisition DateTime
    0x00189623: "D",  # Functional Sync Pulse
    0x00189701: "D",  # Decay Correction DateTime
    0x00189804: "D",  # Exclusion Start DateTime
    0x00189919: "Z/D",  # Instruction Performed DateTime
    0x00189937: "X",  # Requested Series Description
    0x0018A002: "X",  # Contribution DateTime
    0x0018A003: "X",  # Contribution Description
    0x0020000D: "U",  # Study Instance UID
    0x0020000E: "U",  # Series Instance UID
    0x00200010: "Z",  # Study ID
    0x00200027: "X",  # Pyramid Label
    0x00200052: "U",  # Frame of Reference UID
    0x00200200: "U",  # Synchronization Frame of Reference UID
    0x00203401: "X",  # Modifying Device ID
    0x00203403: "X",  # Modified Image Date
    0x00203405: "X",  # Modified Image Time
    0x00203406: "X",  # Modified Image Description
    0x00204000: "X",  # Image Comments
    0x00209158: "X",  # Frame Comments
    0x00209161: "U",  # Concatenation UID
    0x00209164: "U",  # Dimension Organization UID
    0x00281199: "U",  # Palette Color Lookup Table UID
    0x00281214: "U",  # Large Palette Color Lookup Table UID
    0x00284000: "X",  # Image Presentation Comments
    0x00320012: "X",  # Study ID Issuer
    0x00320032: "X",  # Study Verified Date
    0x00320033: "X",  # Study Verified Time
    0x00320034: "X",  # Study Read Date
    0x00320035: "X",  # Study Read Time
    0x00321000: "X",  # Scheduled Study Start Date
    0x00321001: "X",  # Scheduled Study Start Time
    0x00321010: "X",  # Scheduled Study Stop Date
    0x00321011: "X",  # Scheduled Study Stop Time
    0x00321020: "X",  # Scheduled Study Location
    0x00321021: "X",  # Scheduled Study Location AE Title
    0x00321030: "X",  # Reason for Study
    0x00321032: "X",  # Requesting Physician
    0x00321033: "X",  # Requesting Service
    0x00321040: "X",  # Study Arrival Date
    0x00321041: "X",  # Study Arrival Time
    0x00321050: "X",  # Study Completion Date
    0x00321051: "X",  # Study Completion Time
    0x00321060: "X/Z",  # Requested Procedure Description
    0x00321066: "X",  # Reason for Visit
    0x00321067: "X",  # Reason for Visit Code Sequence
    0x00321070: "X",  # Requested Contrast Agent
    0x00324000: "X",  # Study Comments
    0x00340001: "D",  # Flow Identifier Sequence
    0x00340002: "D",  # Flow Identifier
    0x00340005: "D",  # Source Identifier
    0x00340007: "D",  # Frame Origin Timestamp
    0x00380004: "X",  # Referenced Patient Alias Sequence
    0x00380010: "X",  # Admission ID
    0x00380011: "X",  # Issuer of Admission ID
    0x00380014: "X",  # Issuer of Admission ID Sequence
    0x0038001A: "X",  # Scheduled Admission Date
    0x0038001B: "X",  # Scheduled Admission Time
    0x0038001C: "X",  # Scheduled Discharge Date
    0x0038001D: "X",  # Scheduled Discharge Time
    0x0038001E: "X",  # Scheduled Patient Institution Residence
    0x00380020: "X",  # Admitting Date
    0x00380021: "X",  # Admitting Time
    0x00380030: "X",  # Discharge Date
    0x00380032: "X",  # Discharge Time
    0x00380040: "X",  # Discharge Diagnosis Description
    0x00380050: "X",  # Special Needs
    0x00380060: "X",  # Service Episode ID
    0x00380061: "X",  # Issuer of Service Episode ID
    0x00380062: "X",  # Service Episode Description
    0x00380064: "X",  # Issuer of Service Episode ID Sequence
    0x00380300: "X",  # Current Patient Location
    0x00380400: "X",  # Patient's Institution Residence
    0x00380500: "X",  # Patient State
    0x00384000: "X",  # Visit Comments
    0x003A0020: "X",  # Multiplex Group Label
    0x003A0203: "X",  # Channel Label
    0x003A020C: "X",  # Channel Derivation Description
    0x003A0310: "U",  # Multiplex Group UID
    0x003A0314: "D",  # Impedance Measurement DateTime
    0x003A0329: "X",  # Waveform Filter Description
    0x003A032B: "X",  # Filter Lookup Table Description
    0x00400001: "X",  # Scheduled Station AE Title
    0x00400002: "X",  # Scheduled Procedure Step Start Date
    0x00400003: "X",  # Scheduled Procedure Step Start Time
    0x00400004: "X",  # Scheduled Procedure Step End Date
    0x00400005: "X",  # Scheduled Procedure Step End Time
    0x00400006: "X",  # Scheduled Performing Physician's Name
    0x00400007: "X",  # Scheduled Procedure Step Description
    0x00400009: "X",  # Scheduled Procedure Step ID
    0x0040000B: "X",  # Scheduled Performing Physician Identification Sequence
    0x00400010: "X",  # Scheduled Station Name
    0x00400011: "X",  # Scheduled Procedure Step Location
    0x00400012: "X",  # Pre-Medication
    0x00400241: "X",  # Performed Station AE Title
    0x00400242: "X",  # Performed Station Name
    0x00400243: "X",  # Performed Location
    0x00400244: "X",  # Performed Procedure Step Start Date
    0x00400245: "X",  # Performed Procedure Step Start Time
    0x00400250: "X",  # Performed Procedure Step End Date
    0x00400251: "X",  # Performed Procedure Step End Time
    0x00400253: "X",  # Performed Procedure Step ID
    0x00400254: "X",  # Performed Procedure Step Description
    0x00400275: "X",  # Request Attributes Sequence
    0x00400280: "X",  # Comments on the Performed Procedure Step
    0x00400310: "X",  # Comments on Radiation Dose
    0x0040050A: "X",  # Specimen Accession Number
    0x00400512: "D",  # Container Identifier
    0x00400513: "Z",  # Issuer of the Container Identifier Sequence
    0x0040051A: "X",  # Container Description
    0x00400551: "D",  # Specimen Identifier
    0x00400554: "U",  # Specimen UID
    0x00400555: "X/Z",  # Acquisition Context Sequence
    0x00400556: "X",  # Acquisition Context Description
    0x00400562: "Z",  # Issuer of the Specimen Identifier Sequence
    0x00400600: "X",  # Specimen Short Description
    0x00400602: "X",  # Specimen Detailed Description
    0x00400610: "Z",  # Specimen Preparation Sequence
    0x004006FA: "X",  # Slide Identifier
    0x00401001: "X",  # Requested Procedure ID
    0x00401002: "X",  # Reason for the Requested Procedure
    0x00401004: "X",  # Patient Transport Arrangements
    0x00401005: "X",  # Requested Procedure Location
    0x0040100A: "X",  # Reason for Requested Procedure Code Sequence
    0x00401010: "X",  # Names of Intended Recipients of Results
    0x00401011: "X",  # Intended Recipients of Results Identification Sequence
    0x00401101: "D",  # Person Identification Code Sequence
    0x00401102: "X",  # Person's Address
    0x00401103: "X",  # Person's Telephone Numbers
    0x00401104: "X",  # Person's Telecom Information
    0x00401400: "X",  # Requested Procedure Comments
    0x00402001: "X",  # Reason for the Imaging Service Request
    0x00402004: "X",  # Issue Date of Imaging Service Request
    0x00402005: "X",  # Issue Time of Imaging Service Request
    0x00402008: "X",  # Order Entered By
    0x00402009: "X",  # Order Enterer's Location
    0x00402010: "X",  # Order Callback Phone Number
    0x00402011: "X",  # Order Callback Telecom Information
    0x00402016: "Z",  # Placer Order Number / Imaging Service Request
    0x00402017: "Z",  # Filler Order Number / Imaging Service Request
    0x00402400: "X",  # Imaging Service Request Comments
    0x00403001: "X",  # Confidentiality Constraint on Patient Data Description
    0x00404005: "X",  # Scheduled Procedure Step Start DateTime
    0x00404008: "X",  # Scheduled Procedure Step Expiration DateTime
    0x00404010: "X",  # Scheduled Procedure Step Modification DateTime
    0x00404011: "X",  # Expected Completion DateTime
    0x00404025: "X",  # Scheduled Station Name Code Sequence
    0x00404027: "X",  # Scheduled Station Geographic Location Code Sequence
    0x00404028: "X",  # Performed Station Name Code Sequence
    0x00404030: "X",  # Performed Station Geographic Location Code Sequence
    0x00404034: "X",  # Scheduled Human Performers Sequence
    0x00404035: "X",  # Actual Human Performers Sequence
    0x00404036: "X",  # Human Performer's Organization
    0x00404037: "X",  # Human Performer's Name
    0x00404050: "X",  # Performed Procedure Step Start DateTime
    0x00404051: "X",  # Performed Procedure Step End DateTime
    0x00404052: "X",  # Procedure Step Cancellation DateTime
    0x0040A023: "X",  # Findings Group Recording Date (Trial)
    0x0040A024: "X",  # Findings Group Recording Time (Trial)
    0x0040A027: "D",  # Verifying Organization
    0x0040A030: "D",  # Verification DateTime
    0x0040A032: "X/D",  # Observation DateTime
    0x0040A033: "X",  # Observation Start DateTime
    0x0040A034: "X",  # Effective Start DateTime
    0x0040A035: "X",  # Effective Stop DateTime
    0x0040A073: "D",  # Verifying Observer Sequence
    0x0040A075: "D",  # Verifying Observer Name
    0x0040A078: "X",  # Author Observer Sequence
    0x0040A07A: "X",  # Participant Sequence
    0x0040A07C: "X",  # Custodial Organization Sequence
    0x0040A082: "Z",  # Participation DateTime
    0x0040A088: "Z",  # Verifying Observer Identification Code Sequence
    0x0040A110: "X",  # Date of Document or Verbal Transaction (Trial)
    0x0040A112: "X",  # Time of Document Creation or Verbal Transaction (Trial)
    0x0040A120: "D",  # DateTime
    0x0040A121: "D",  # Date
    0x0040A122: "D",  # Time
    0x0040A123: "D",  # Person Name
    0x0040A124: "U",  # UID
    0x0040A13A: "D",  # Referenced DateTime
    0x0040A171: "U",  # Observation UID
    0x0040A172: "U",  # Referenced Observation UID (Trial)
    0x0040A192: "X",  # Observation Date (Trial)
    0x0040A193: "X",  # Observation Time (Trial)
    0x0040A307: "X",  # Current Observer (Trial)
    0x0040A352: "X",  # Verbal Source (Trial)
    0x0040A353: "X",  # Address (Trial)
    0x0040A354: "X",  # Telephone Number (Trial)
    0x0040A358: "X",  # Verbal Source Identifier Code Sequence (Trial)
    0x0040A402: "U",  # Observation Subject UID (Trial)
    # Content Sequence: X in Table E.1-1 (C only under the Clean Structured Content Option);
    # the transcription read D, which for a sequence would mean a dummy, never the original.
    0x0040A730: "X",  # Content Sequence
    0x0040B020: "X/D",  # Waveform Annotation Sequence
    0x0040B034: "X",  # Annotation DateTime
    0x0040B036: "X",  # Segment Definition DateTime
    0x0040B03B: "X",  # Montage Name
    0x0040B03F: "X",  # Montage Channel Label
    0x0040DB06: "X",  # Template Version
    0x0040DB07: "X",  # Template Local Version
    0x0040DB0C: "U",  # Template Extension Organization UID
    0x0040DB0D: "U",  # Template Extension Creator UID
    0x0040E004: "X",  # HL7 Document Effective Time
    0x0040E012: "X",  # Display URI
    0x00420011: "D",  # Encapsulated Document
    0x00440004: "X",  # Approval Status DateTime
    0x0044000B: "X",  # Product Expiration DateTime
    0x00440010: "X",  # Substance Administration DateTime
    0x00440104: "D",  # Assertion DateTime
    0x00440105: "X",  # Assertion Expiration DateTime
    0x0050001B: "X",  # Container Component ID
    0x00500020: "X",  # Device Description
    0x00500021: "X",  # Long Device Description
    0x00620021: "U",  # Tracking UID
    0x00640003: "U",  # Source Frame of Reference UID
    0x00686226: "D",  # Effective DateTime
    0x00686270: "D",  # Information Issue DateTime
    0x006A0003: "D",  # Annotation Group UID
    0x006A0005: "D",  # Annotation Group Label
    0x006A0006: "X",  # Annotation Group Description
    0x00700001: "D",  # Graphic Annotation Sequence
    0x00700006: "D",  # Unformatted Text Value
    0x00700082: "X",  # Presentation Creation Date
    0x00700083: "X",  # Presentation Creation Time
    0x00700084: "Z/D",  # Content Creator's Name
    0x00700086: "X",  # Content Creator's Identification Code Sequence
    0x0070031A: "U",  # Fiducial UID
    0x00701101: "U",  # Presentation Display Collection UID
    0x00701102: "U",  # Presentation Sequence Collection UID
    0x0072000A: "D",  # Hanging Protocol Creation DateTime
    0x0072005E: "D",  # Selector AE Value
    0x0072005F: "D",  # Selector AS Value
    0x00720061: "D",  # Selector DA Value
    0x00720063: "D",  # Selector DT Value
    0x00720065: "D",  # Selector OB Value
    0x00720066: "D",  # Selector LO Value
    0x00720068: "D",  # Selector LT Value
    0x0072006A: "D",  # Selector PN Value
    0x0072006B: "D",  # Selector TM Value
    0x0072006C: "D",  # Selector SH Value
    0x0072006D: "D",  # Selector UN Value
    0x0072006E: "D",  # Selector ST Value
    0x00720070: "D",  # Selector UT Value
    0x00720071: "D",  # Selector UR Value
    0x00741234: "X",  # Receiving AE
    0x00741236: "X",  # Requesting AE
    0x00880140: "U",  # Storage Media File-set UID
    0x00880200: "X",  # Icon Image Sequence(see Note 11)
    0x00880904: "X",  # Topic Title
    0x00880906: "X",  # Topic Subject
    0x00880910: "X",  # Topic Author
    0x00880912: "X",  # Topic Keywords
    0x01000420: "X",  # SOP Authorization DateTime
    0x04000100: "U",  # Digital Signature UID
    0x04000105: "D",  # Digital Signature DateTime
    0x04000115: "D",  # Certificate of Signer
    0x04000310: "X",  # Certified Timestamp
    0x04000402: "X",  # Referenced Digital Signature Sequence
    0x04000403: "X",  # Referenced SOP Instance MAC Sequence
    0x04000404: "X",  # MAC
    0x04000550: "X",  # Modified Attributes Sequence
    0x04000551: "X",  # Nonconforming Modified Attributes Sequence
    0x04000552: "X",  # Nonconforming Data Element Value
    0x04000561: "X",  # Original Attributes Sequence
    0x04000562: "D",  # Attribute Modification DateTime
    0x04000563: "D",  # Modifying System
    0x04000564: "Z",  # Source of Previous Values
    0x04000565: "D",  # Reason for the Attribute Modification
    0x04000600: "X",  # Instance Origin Status
    0x20300020: "X",  # Text String
    0x21000040: "X",  # Creation Date
    0x21000050: "X",  # Creation Time
    0x21000070: "X",  # Originator
    0x21000140: "D",  # Destination AE
    0x22000002: "X/Z",  # Label Text
    0x22000005: "X/Z",  # Barcode Value
    0x30020121: "X",  # Position Acquisition Template Name
    0x30020123: "X",  # Position Acquisition Template Description
    0x30060002: "D",  # Structure Set Label
    0x30060004: "X",  # Structure Set Name
    0x30060006: "X",  # Structure Set Description
    0x30060008: "Z",  # Structure Set Date
    0x30060009: "Z",  # Structure Set Time
    0x30060024: "U",  # Referenced Frame of Reference UID
    0x30060026: "Z",  # ROI Name
    0x30060028: "X",  # ROI Description
    0x3006002D: "X",  # ROI DateTime
    0x3006002E: "X",  # ROI Observation DateTime
    0x30060038: "X",  # ROI Generation Description
    0x3006004D: "X",  # ROI Creator Sequence
    0x3006004E: "X",  # ROI Interpreter Sequence
    0x30060085: "X",  # ROI Observation Label
    0x30060088: "X",  # ROI Observation Description
    0x300600A6: "Z",  # ROI Interpreter
    0x300600C2: "U",  # Related Frame of Reference UID
    0x30080024: "D",  # Treatment Control Point Date
    0x30080025: "D",  # Treatment Control Point Time
    0x30080054: "X/D",  # First Treatment Date
    0x30080056: "X/D",  # Most Recent Treatment Date
    0x30080105: "X/Z",  # Source Serial Number
    0x30080162: "D",  # Safe Position Exit Date
    0x30080164: "D",  # Safe Position Exit Time
    0x30080166: "D",  # Safe Position Return Date
    0x30080168: "D",  # Safe Position Return Time
    0x30080250: "X/D",  # Treatment Date
    0x30080251: "X/D",  # Treatment Time
    0x300A0002: "D",  # RT Plan Label
    0x300A0003: "X",  # RT Plan Name
    0x300A0004: "X",  # RT Plan Description
    0x300A0006: "X/D",  # RT Plan Date
    0x300A0007: "X/D",  # RT Plan Time
    0x300A000B: "X",  # Treatment Sites
    0x300A000E: "X",  # Prescription Description
    0x300A0013: "U",  # Dose Reference UID
    0x300A0016: "X",  # Dose Reference Description
    0x300A0054: "U",  # Table Top Position Alignment UID
    0x300A0072: "X",  # Fraction Group Description
    0x300A0083: "U",  # Referenced Dose Reference UID
    0x300A00B2: "X/Z",  # Treatment Machine Name
    0x300A00C3: "X",  # Beam Description
    0x300A00DD: "X",  # Bolus Description
    0x300A0196: "X",  # Fixation Device Description
    0x300A01A6: "X",  # Shielding Device Description
    0x300A01B2: "X",  # Setup Technique Description
    0x300A0216: "X",  # Source Manufacturer
    0x300A022C: "D",  # Source Strength Reference Date
    0x300A022E: "D",  # Source Strength Reference Time
    0x300A02EB: "X",  # Compensator Description
    0x300A0608: "D",  # Treatment Position Group Label
    0x300A0609: "U",  # Treatment Position Group UID
    0x300A0611: "Z",  # RT Accessory Holder Slot ID
    0x300A0615: "Z",  # RT Accessory Device Slot ID
    0x300A0619: "D",  # Radiation Dose Identification Label
    0x300A0623: "D",  # Radiation Dose In-Vivo Measurement Label
    0x300A062A: "D",  # RT Tolerance Set Label
    0x300A0650: "U",  # Patient Setup UID
    0x300A0676: "X",  # Equipment Frame of Reference Description
    0x300A067C: "D",  # Radiation Generation Mode Label
    0x300A067D: "Z",  # Radiation Generation Mode Description
    0x300A0700: "U",  # Treatment Session UID
    0x300A0734: "D",  # Treatment Tolerance Violation Description
    0x300A0736: "D",  # Treatment Tolerance Violation DateTime
    0x300A073A: "D",  # Recorded RT Control Point DateTime
    0x300A0741: "D",  # Interlock DateTime
    0x300A0742: "D",  # Interlock Description
    0x300A0760: "D",  # Override DateTime
    0x300A0783: "D",  # Interlock Origin Description
    0x300A0785: "U",  # Referenced Treatment Position Group UID
    0x300A078E: "X",  # Patient Treatment Preparation Procedure Parameter Description
    0x300A0792: "X",  # Patient Treatment Preparation Method Description
    0x300A0794: "X",  # Patient Setup Photo Description
    0x300A079A: "X",  # Displacement Reference Label
    0x300C0113: "X",  # Reason for Omission Description
    0x300C0127: "D",  # Beam Hold Transition DateTime
    0x300E0004: "Z",  # Review Date
    0x300E0005: "Z",  # Review Time
    0x300E0008: "X/Z",  # Reviewer Name
    0x30100006: "U",  # Conceptual Volume UID
    0x3010000B: "U",  # Referenced Conceptual Volume UID
    0x3010000F: "Z",  # Conceptual Volume Combination Description
    0x30100013: "U",  # Constituent Conceptual Volume UID
    0x30100015: "U",  # Source Conceptual Volume UID
    0x30100017: "Z",  # Conceptual Volume Description
    0x3010001B: "Z",  # Device Alternate Identifier
    0x3010002D: "D",  # Device Label
    0x30100031: "U",  # Referenced Fiducials UID
    0x30100033: "D",  # User Content Label
    0x30100034: "D",  # User Content Long Label
    0x30100035: "D",  # Entity Label
    0x30100036: "X",  # Entity Name
    0x30100037: "X",  # Entity Description
    0x30100038: "D",  # Entity Long Label
    0x3010003B: "U",  # RT Treatment Phase UID
    0x30100043: "Z",  # Manufacturer's Device Identifier
    0x3010004C: "X/D",  # Intended Phase Start Date
    0x3010004D: "X/D",  # Intended Phase End Date
    0x30100054: "D",  # RT Prescription Label
    0x30100056: "X/D",  # RT Treatment Approach Label
    0x3010005A: "Z",  # RT Physician Intent Narrative
    0x3010005C: "Z",  # Reason for Superseding
    0x30100061: "X",  # Prior Treatment Dose Description
    0x3010006E: "U",  # Dosimetric Objective UID
    0x3010006F: "U",  # Referenced Dosimetric Objective UID
    0x30100077: "X/D",  # Treatment Site
    0x3010007A: "Z",  # Treatment Technique Notes
    0x3010007B: "Z",  # Prescription Notes
    0x3010007F: "Z",  # Fractionation Notes
    0x30100081: "Z",  # Prescription Notes Sequence
    0x30100085: "X",  # Intended Fraction Start Time
    0x40000010: "X",  # Arbitrary
    0x40004000: "X",  # Text Comments
    0x40080040: "X",  # Results ID
    0x40080042: "X",  # Results ID Issuer
    0x40080100: "X",  # Interpretation Recorded Date
    0x40080101: "X",  # Interpretation Recorded Time
    0x40080102: "X",  # Interpretation Recorder
    0x40080108: "X",  # Interpretation Transcription Date
    0x40080109: "X",  # Interpretation Transcription Time
    0x4008010A: "X",  # Interpretation Transcriber
    0x4008010B: "X",  # Interpretation Text
    0x4008010C: "X",  # Interpretation Author
    0x40080111: "X",  # Interpretation Approver Sequence
    0x40080112: "X",  # Interpretation Approval Date
    0x40080113: "X",  # Interpretation Approval Time
    0x40080114: "X",  # Physician Approving Interpretation
    0x40080115: "X",  # Interpretation Diagnosis Description
    0x40080118: "X",  # Results Distribution List Sequence
    0x40080119: "X",  # Distribution Name
    0x4008011A: "X",  # Distribution Address
    0x40080200: "X",  # Interpretation ID
    0x40080202: "X",  # Interpretation ID Issuer
    0x40080300: "X",  # Impressions
    0x40084000: "X",  # Results Comments
    0xFFFAFFFA: "X",  # Digital Signatures Sequence
    0xFFFCFFFC: "X",  # Data Set Trailing Padding
}

# Repeating groups (50xx curves, 60xx overlays): (group, element, group mask, element mask,
# action); an element matches when tag & mask == (group, element) & mask.
BASIC_PROFILE_MASKED: tuple[tuple[int, int, int, int, str], ...] = (
    (0x5000, 0x0000, 0xFF00, 0x0000, "X"),  # Curve Data
    (0x6000, 0x4000, 0xFF00, 0xFFFF, "X"),  # Overlay Comments
    (0x6000, 0x3000, 0xFF00, 0xFFFF, "X"),  # Overlay Data
)


# -- attribute types per IOD -------------------------------------------------------------------
# Compound actions (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) depend on the attribute's type in the IOD of
# the instance, and so does whether a sequence may lose its last item. Source: the module and
# IOD tables of PS3.3 (edition 2026b) as highdicom (MIT License) release 0.28.2 ships them in
# ``highdicom/_standard/`` (``module_attribute_map.json``, ``iod_module_map.json``,
# ``sop_class_iod_map.json``, generated from the standard by the dicom-standard project),
# converted mechanically. Kept, for every module: the attributes ``BASIC_PROFILE`` gives a
# compound action and the sequences whose items hold a Referenced SOP Instance UID, at every
# nesting level, with their type when it is 1 or 2 (1C and 2C count as 1 and 2: an attribute
# present in the original met its condition). Anything not listed is Type 3 or not part of the
# IOD, which for the choice of an action is the same. Every module of an IOD counts whatever
# its usage (M, C or U): only a module present in the instance gives it these attributes, and
# where two modules give one attribute different types, the stricter wins.
#
# ``_MODULE_TYPES``: ``[module]`` then one attribute a line in PS3.3's notation (">" per
# sequence level; a line without a type only names the sequence of the lines below it).
# ``_IOD_MODULES``: ``iod: module module ...`` (indented lines continue). ``_SOP_CLASS_IODS``:
# ``SOP Class UID  iod``.

_MODULE_TYPES = """
[acquisition-context]
AcquisitionContextSequence 2
>ContentItemModifierSequence
>>ReferencedSOPSequence 1
>ReferencedSOPSequence 1
[advanced-blending-presentation-state]
AdvancedBlendingSequence
>ReferencedImageSequence 1
>ReferencedSpatialRegistrationSequence
>>ReferencedSeriesSequence
>>>ReferencedSOPSequence 1
>SoftcopyVOILUTSequence
>>ReferencedImageSequence 1
[approval]
ReviewerName 2
[autorefraction-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[breast-projection-x-ray-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
[breast-tomosynthesis-acquisition]
XRay3DAcquisitionSequence
>ContrastBolusAgent 1
>EndAcquisitionDateTime 1
>SourceImageSequence 1
>StartAcquisitionDateTime 1
[breast-tomosynthesis-contributing-sources]
ContributingSourcesSequence
>AcquisitionDateTime 1
>ContributingSOPInstancesReferenceSequence
>>ReferencedSeriesSequence
>>>ReferencedInstanceSequence 1
>DateOfLastDetectorCalibration 1
>DetectorID 1
>DeviceSerialNumber 1
>OperatorIdentificationSequence 1
>>InstitutionCodeSequence 1
>>InstitutionName 1
>OperatorsName 1
>ProtocolName 1
>StationName 1
>TimeOfLastDetectorCalibration 1
[breast-tomosynthesis-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[c-arm-photon-electron-delivery-device]
BlockDefinitionSequence
>DeviceSerialNumber 2
BolusDefinitionSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>DeviceSerialNumber 2
CompensatorDefinitionSequence
>DeviceSerialNumber 2
GeneralAccessoryDefinitionSequence
>DeviceSerialNumber 2
RTAccessoryHolderDefinitionSequence
>DeviceSerialNumber 2
RTBeamLimitingDeviceDefinitionSequence
>DeviceSerialNumber 2
RadiationGenerationModeSequence
>RadiationDeviceConfigurationAndCommissioningKeySequence
>>ReferencedSOPSequence 1
WedgeDefinitionSequence
>DeviceSerialNumber 2
[color-palette-definition]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[common-instance-reference]
ReferencedSeriesSequence
>ReferencedInstanceSequence 1
StudiesContainingOtherReferencedInstancesSequence
>ReferencedSeriesSequence
>>ReferencedInstanceSequence 1
[confocal-microscopy-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[confocal-microscopy-tiled-pyramidal-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[content-assessment-results]
AssessedSOPInstanceSequence 1
>ReferencedComparisonSOPInstanceSequence 1
AssessmentRequesterSequence
>InstitutionCodeSequence 2
>InstitutionName 2
>StationName 2
[contrast-bolus]
ContrastBolusAgent 2
[corneal-topography-map-analysis]
SourceImageSequence 1
[corneal-topography-map-image]
AcquisitionDateTime 1
ContentDate 1
ContentTime 1
RealWorldValueMappingSequence
>QuantityDefinitionSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[corneal-topography-map-series]
ReferencedPerformedProcedureStepSequence 1
[ct-image]
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
ScanStartPositionSequence
>ImageReceptorPositionSequence
>>DevicePositionParameterSequence
>>>ReferencedSOPSequence 1
>ImagingSourcePositionSequence
>>DevicePositionParameterSequence
>>>ReferencedSOPSequence 1
ScanStopPositionSequence
>ImageReceptorPositionSequence
>>DevicePositionParameterSequence
>>>ReferencedSOPSequence 1
>ImagingSourcePositionSequence
>>DevicePositionParameterSequence
>>>ReferencedSOPSequence 1
[ct-series]
ReferencedPerformedProcedureStepSequence 1
[deformable-spatial-registration]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
DeformableRegistrationSequence
>ReferencedImageSequence 1
[display-system]
EquipmentAdministratorSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[displayed-area]
DisplayedAreaSelectionSequence
>ReferencedImageSequence 1
[dx-series]
ReferencedPerformedProcedureStepSequence 1
[encapsulated-document]
AcquisitionDateTime 2
ContentDate 2
ContentSequence
>ContentSequence
>>ReferencedSOPSequence 1
>ObservationDateTime 1
>ReferencedSOPSequence 1
ContentTime 2
IdenticalDocumentsSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
PredecessorDocumentsSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceInstanceSequence 1
[encapsulated-document-series]
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[enhanced-continuous-rt-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RTImageFrameContextSequence
>>RTImageScopeSequence
>>>ReferencedRTPlanSequence 1
>>>ReferencedRTRadiationSequence 1
>>>ReferencedRTRadiationSetSequence 1
>>>>ReferencedRTRadiationSequence 1
>RTImageFrameImagingDevicePositionSequence
>>ImageReceptorPositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>>ImagingSourcePositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>RTImageFrameRadiationAcquisitionSequence
>>RTImageFrameMVRadiationAcquisitionSequence
>>>RadiationGenerationModeSequence
>>>>RadiationGenerationModeSequence
>>>>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>>>>ReferencedSOPSequence 1
>>RTImageFramekVRadiationAcquisitionSequence
>>>XRayFilterSequence
>>>>DeviceSerialNumber 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RTImageFrameContextSequence
>>RTImageScopeSequence
>>>ReferencedRTPlanSequence 1
>>>ReferencedRTRadiationSequence 1
>>>ReferencedRTRadiationSetSequence 1
>>>>ReferencedRTRadiationSequence 1
>RTImageFrameImagingDevicePositionSequence
>>ImageReceptorPositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>>ImagingSourcePositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>RTImageFrameRadiationAcquisitionSequence
>>RTImageFrameMVRadiationAcquisitionSequence
>>>RadiationGenerationModeSequence
>>>>RadiationGenerationModeSequence
>>>>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>>>>ReferencedSOPSequence 1
>>RTImageFramekVRadiationAcquisitionSequence
>>>XRayFilterSequence
>>>>DeviceSerialNumber 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-ct-image]
AcquisitionDateTime 1
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedPresentationStateSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedRawDataSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedWaveformSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[enhanced-ct-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>MultienergyCTCharacteristicsSequence
>>PerformedProcessingParametersSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>MultienergyCTCharacteristicsSequence
>>PerformedProcessingParametersSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-general-equipment]
DeviceSerialNumber 1
[enhanced-mammography-image]
AcquisitionDateTime 1
[enhanced-mammography-series]
ReferencedPerformedProcedureStepSequence 1
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[enhanced-mr-color-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-mr-image]
AcquisitionDateTime 1
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedPresentationStateSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedRawDataSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedWaveformSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[enhanced-mr-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-pet-image]
AcquisitionDateTime 1
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedPresentationStateSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedRawDataSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedWaveformSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[enhanced-pet-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-pet-series]
ReferencedPerformedProcedureStepSequence 1
[enhanced-rt-image]
TreatmentPositionSequence
>PatientSupportPositionSequence
>>PatientSupportPositionDeviceParameterSequence
>>>PatientSupportPositionParameterSequence
>>>>ReferencedSOPSequence 1
[enhanced-rt-image-device]
AcquisitionDeviceSequence
>DeviceSerialNumber 2
GeneralAccessoryDefinitionSequence
>DeviceSerialNumber 2
PatientSupportDevicesSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>DeviceSerialNumber 2
RTBeamLimitingDeviceDefinitionSequence
>DeviceSerialNumber 2
[enhanced-rt-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RTImageFrameContextSequence
>>RTImageScopeSequence
>>>ReferencedRTPlanSequence 1
>>>ReferencedRTRadiationSequence 1
>>>ReferencedRTRadiationSetSequence 1
>>>>ReferencedRTRadiationSequence 1
>RTImageFrameImagingDevicePositionSequence
>>ImageReceptorPositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>>ImagingSourcePositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>RTImageFrameRadiationAcquisitionSequence
>>RTImageFrameMVRadiationAcquisitionSequence
>>>RadiationGenerationModeSequence
>>>>RadiationGenerationModeSequence
>>>>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>>>>ReferencedSOPSequence 1
>>RTImageFramekVRadiationAcquisitionSequence
>>>XRayFilterSequence
>>>>DeviceSerialNumber 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RTImageFrameContextSequence
>>RTImageScopeSequence
>>>ReferencedRTPlanSequence 1
>>>ReferencedRTRadiationSequence 1
>>>ReferencedRTRadiationSetSequence 1
>>>>ReferencedRTRadiationSequence 1
>RTImageFrameImagingDevicePositionSequence
>>ImageReceptorPositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>>ImagingSourcePositionSequence
>>>DevicePositionParameterSequence
>>>>ReferencedSOPSequence 1
>RTImageFrameRadiationAcquisitionSequence
>>RTImageFrameMVRadiationAcquisitionSequence
>>>RadiationGenerationModeSequence
>>>>RadiationGenerationModeSequence
>>>>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>>>>ReferencedSOPSequence 1
>>RTImageFramekVRadiationAcquisitionSequence
>>>XRayFilterSequence
>>>>DeviceSerialNumber 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-rt-series]
ReferencedPerformedProcedureStepSequence 1
SeriesDate 1
SeriesTime 1
[enhanced-series]
ReferencedPerformedProcedureStepSequence 1
[enhanced-us-image]
AcquisitionDateTime 1
ReferencedInstanceSequence 1
ReferencedRawDataSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceImageSequence 1
TransducerIdentificationSequence
>DeviceSerialNumber 2
[enhanced-us-series]
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
ReferencedPerformedProcedureStepSequence 1
[enhanced-us-volume-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[enhanced-xa-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
[enhanced-xa-xrf-image]
AcquisitionDateTime 1
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedOtherPlaneSequence 1
SourceImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[enhanced-xrf-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
[general-image]
ContentDate 2
ContentTime 2
RealWorldValueMappingSequence
>QuantityDefinitionSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[general-ophthalmic-refractive-measurements]
ContentDate 1
ContentTime 1
ReferencedRefractiveMeasurementsSequence 2
[general-series]
OperatorIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
PerformingPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[general-study]
ConsultingPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
PhysiciansOfRecordIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
PhysiciansReadingStudyIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ReferringPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[generic-implant-template-description]
DerivationImplantTemplateSequence 1
OriginalImplantTemplateSequence 1
ReplacedImplantTemplateSequence 1
[graphic-annotation]
GraphicAnnotationSequence
>ReferencedImageSequence 1
[hanging-protocol-display]
DisplaySetsSequence
>PseudoColorPaletteInstanceReferenceSequence 1
[height-map-segmentation-image]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
SegmentSequence
>ContentCreatorIdentificationCodeSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
[height-map-segmentation-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[image-acquisition-results]
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
PerformedSeriesSequence
>OperatorIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>PerformingPhysicianIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
[imaging-service-request]
ReferringPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RequestingPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[implant-assembly-template]
ComponentTypesSequence
>ComponentSequence 1
DerivationImplantAssemblyTemplateSequence 1
OriginalImplantAssemblyTemplateSequence 1
ReplacedImplantAssemblyTemplateSequence 1
[implant-template-group]
ImplantTemplateGroupMembersSequence 1
ReplacedImplantTemplateGroupSequence 1
[instructions]
InstructionSequence
>InstructionPerformedDateTime 2
[intraocular-lens-calculations]
IntraocularLensCalculationsLeftEyeSequence
>AnteriorChamberDepthSequence
>>ReferencedSOPSequence 1
>CorneaMeasurementsSequence
>>ReferencedSOPSequence 1
>CornealSizeSequence
>>ReferencedSOPSequence 1
>LensThicknessSequence
>>ReferencedSOPSequence 1
>OphthalmicAxialLengthSequence
>>ReferencedSOPSequence 1
>RefractiveStateSequence
>>SourceOfRefractiveMeasurementsSequence
>>>ReferencedSOPSequence 1
IntraocularLensCalculationsRightEyeSequence
>AnteriorChamberDepthSequence
>>ReferencedSOPSequence 1
>CorneaMeasurementsSequence
>>ReferencedSOPSequence 1
>CornealSizeSequence
>>ReferencedSOPSequence 1
>LensThicknessSequence
>>ReferencedSOPSequence 1
>OphthalmicAxialLengthSequence
>>ReferencedSOPSequence 1
>RefractiveStateSequence
>>SourceOfRefractiveMeasurementsSequence
>>>ReferencedSOPSequence 1
[intraocular-lens-calculations-series]
ReferencedPerformedProcedureStepSequence 1
[intravascular-oct-image]
AcquisitionDateTime 1
[intravascular-oct-series]
ReferencedPerformedProcedureStepSequence 1
[intravascular-optical-coherence-tomography-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
[inventory]
ContentDate 1
ContentTime 1
IncorporatedInventoryInstanceSequence 2
InventoriedStudiesSequence
>ConsultingPhysicianIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>InventoriedSeriesSequence
>>InventoriedInstancesSequence
>>>ReferencedRequestSequence
>>>>ReferencedStudySequence 2
>>>>RequestedProcedureDescription 2
>>RequestAttributesSequence
>>>ScheduledProtocolCodeSequence
>>>>ProtocolContextSequence
>>>>>ContentItemModifierSequence
>>>>>>ReferencedSOPSequence 1
>>>>>ReferencedSOPSequence 1
>OtherPatientIDsSequence
>>PatientID 2
>PatientID 2
>PhysiciansOfRecordIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>PhysiciansReadingStudyIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>ReferringPhysicianIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
[keratometry-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[key-object-document]
ContentDate 1
ContentTime 1
CurrentRequestedProcedureEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
IdenticalDocumentsSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedRequestSequence
>ReferencedStudySequence 2
>RequestedProcedureDescription 2
[key-object-document-series]
ReferencedPerformedProcedureStepSequence 2
[legacy-converted-enhanced-ct-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
[legacy-converted-enhanced-mr-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[legacy-converted-enhanced-pet-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>ConversionSourceAttributesSequence 1
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[lensometry-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[mammography-series]
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[microscopy-bulk-simple-annotations]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
ReferencedImageSequence 1
[microscopy-bulk-simple-annotations-series]
ReferencedPerformedProcedureStepSequence 1
[mr-image]
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[mr-series]
ReferencedPerformedProcedureStepSequence 1
[mr-spectroscopy]
AcquisitionDateTime 1
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedInstanceSequence 1
ReferencedPresentationStateSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedRawDataSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedWaveformSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
SourceImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[mr-spectroscopy-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>ReferencedImageSequence 2
[multi-energy-ct-image]
MultienergyCTCharacteristicsSequence
>PerformedProcessingParametersSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[multi-frame-functional-groups]
ContentDate 1
ContentTime 1
[multi-frame-grayscale-byte-secondary-capture-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
[multi-frame-grayscale-word-secondary-capture-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
[multi-frame-true-color-secondary-capture-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
[nm-image]
RealWorldValueMappingSequence
>QuantityDefinitionSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[ophthalmic-axial-measurements]
OphthalmicAxialMeasurementsLeftEyeSequence
>OphthalmicAxialLengthMeasurementsSequence
>>OphthalmicAxialLengthMeasurementsLengthSummationSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>>OphthalmicAxialLengthMeasurementsTotalLengthSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>OpticalSelectedOphthalmicAxialLengthSequence
>>SelectedTotalOphthalmicAxialLengthSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>UltrasoundSelectedOphthalmicAxialLengthSequence
>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
OphthalmicAxialMeasurementsRightEyeSequence
>OphthalmicAxialLengthMeasurementsSequence
>>OphthalmicAxialLengthMeasurementsLengthSummationSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>>OphthalmicAxialLengthMeasurementsTotalLengthSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>OpticalSelectedOphthalmicAxialLengthSequence
>>SelectedTotalOphthalmicAxialLengthSequence
>>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
>UltrasoundSelectedOphthalmicAxialLengthSequence
>>ReferencedOphthalmicAxialLengthMeasurementQCImageSequence 1
[ophthalmic-axial-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[ophthalmic-optical-coherence-tomography-b-scan-volume-analysis-image]
ContentDate 1
ContentTime 1
[ophthalmic-optical-coherence-tomography-b-scan-volume-analysis-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[ophthalmic-optical-coherence-tomography-en-face-image]
ContentDate 1
ContentTime 1
OphthalmicFrameLocationSequence 1
SourceImageSequence 1
[ophthalmic-photography-image]
AcquisitionDateTime 1
ContentDate 1
ContentTime 1
SourceImageSequence 2
[ophthalmic-thickness-map]
AcquisitionDateTime 1
ContentDate 1
ContentTime 1
RealWorldValueMappingSequence
>QuantityDefinitionSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
ReferencedInstanceSequence 1
SourceImageSequence 1
[ophthalmic-thickness-map-series]
ReferencedPerformedProcedureStepSequence 1
[ophthalmic-tomography-b-scan-volume-analysis-series]
ReferencedPerformedProcedureStepSequence 1
[ophthalmic-tomography-en-face-series]
ReferencedPerformedProcedureStepSequence 1
[ophthalmic-tomography-image]
AcquisitionDateTime 1
[ophthalmic-tomography-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>OphthalmicFrameLocationSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>OphthalmicFrameLocationSequence 1
>ReferencedImageSequence 2
[ophthalmic-tomography-series]
ReferencedPerformedProcedureStepSequence 1
[optical-surface-scanner-series]
ReferencedPerformedProcedureStepSequence 1
ReferencedSurfaceDataSequence 2
[parametric-map-image]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[parametric-map-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[parametric-map-series]
ReferencedPerformedProcedureStepSequence 1
[patient]
GroupOfPatientsIdentificationSequence
>PatientID 1
OtherPatientIDsSequence
>PatientID 1
PatientID 2
ReferencedPatientPhotoSequence
>ReferencedSOPSequence 1
SourcePatientGroupIdentificationSequence
>PatientID 1
[patient-identification]
GroupOfPatientsIdentificationSequence
>PatientID 1
ReferencedPatientPhotoSequence
>ReferencedSOPSequence 1
SourcePatientGroupIdentificationSequence
>PatientID 1
[patient-positioning]
PatientPositioningInstructionSequence
>InstructionPerformedDateTime 1
[patient-protocol-context]
ReferencedPerformedProtocolSequence 1
[patient-study]
PatientSexNeutered 2
[performed-ct-reconstruction]
ReconstructionProtocolElementSequence 1
[performed-procedure-step-relationship]
ScheduledStepAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[performed-storage]
StorageProtocolElementSequence 1
[performed-xa-acquisition]
AcquisitionProtocolElementSequence
>ReferencedDefinedProtocolSequence 1
>ReferencedPerformedProtocolSequence 1
[performed-xa-reconstruction]
ReconstructionProtocolElementSequence 1
>ReferencedDefinedProtocolSequence 1
>ReferencedPerformedProtocolSequence 1
[pet-image]
AcquisitionDate 2
AcquisitionTime 2
ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence
>DevicePositionParameterSequence
>>ReferencedSOPSequence 1
PatientToEquipmentRelationshipSequence
>PatientSupportPositionParameterSequence
>>ReferencedSOPSequence 1
PatientTreatmentPreparationSequence
>PatientTreatmentPreparationProcedureSequence
>>PatientTreatmentPreparationDeviceSequence
>>>DeviceSerialNumber 2
>>PatientTreatmentPreparationProcedureParameterSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[pet-series]
SeriesDate 1
SeriesTime 1
[photoacoustic-image]
AcquisitionDateTime 1
[photoacoustic-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[photoacoustic-reconstruction]
SoundSpeedCorrectionMechanismCodeSequence
>ReferencedImageSequence 1
[presentation-state-blending]
BlendingSequence
>ReferencedSeriesSequence
>>ReferencedImageSequence 1
>SoftcopyVOILUTSequence
>>ReferencedImageSequence 1
ReferencedSpatialRegistrationSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[presentation-state-identification]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[presentation-state-relationship]
ReferencedSeriesSequence
>ReferencedImageSequence 1
[product-characteristics]
ProductParameterSequence
>ReferencedSOPSequence 1
[protocol-approval]
ApprovalSequence
>AsserterIdentificationSequence
>>InstitutionCodeSequence 2
>>InstitutionName 2
>>StationName 2
>InstitutionCodeSequence 1
ApprovalSubjectSequence 1
[protocol-context]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentCreatorName 1
CustodialOrganizationSequence
>InstitutionCodeSequence 2
>InstitutionName 2
InstanceCreationDate 1
InstanceCreationTime 1
ProtocolName 1
[radiotherapy-common-instance]
AuthorIdentificationSequence
>InstitutionCodeSequence 2
>InstitutionName 2
>StationName 2
ContentDate 1
ContentTime 1
InstanceCreationDate 1
InstanceCreationTime 1
InstanceLevelReferencedPerformedProcedureStepSequence 1
[raw-data]
ContentDate 1
ContentTime 1
[real-world-value-mapping]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
ReferencedImageRealWorldValueMappingSequence
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 1
[requested-procedure]
IntendedRecipientsOfResultsIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[robotic-arm-delivery-device]
RTAccessoryHolderDefinitionSequence
>DeviceSerialNumber 2
RTBeamLimitingDeviceDefinitionSequence
>DeviceSerialNumber 2
RadiationGenerationModeSequence
>RadiationDeviceConfigurationAndCommissioningKeySequence
>>ReferencedSOPSequence 1
[rt-beams]
BeamSequence
>ControlPointSequence
>>ReferencedDoseSequence 1
>EnhancedRTBeamLimitingDeviceSequence
>>DeviceSerialNumber 2
>TreatmentMachineName 2
[rt-beams-delivery-instruction]
ReferencedRTPlanSequence 1
[rt-beams-session-record]
TreatmentSessionBeamSequence
>ControlPointDeliverySequence
>>OverrideSequence
>>>OperatorIdentificationSequence
>>>>InstitutionCodeSequence 1
>>>>InstitutionName 1
>>>OperatorsName 2
>EnhancedRTBeamLimitingDeviceSequence
>>DeviceSerialNumber 2
>GatingBeamHoldTransitionSequence
>>BeamHoldOriginatingDeviceSequence
>>>DeviceSerialNumber 2
>InterlockSequence
>>InterlockOriginatingDeviceSequence
>>>DeviceSerialNumber 2
>>InterlockResolutionUserSequence
>>>InstitutionCodeSequence 1
>>>InstitutionName 1
>RadiationDeviceConfigurationAndCommissioningKeySequence
>>ReferencedSOPSequence 1
[rt-brachy-application-setup-delivery-instruction]
ReferencedRTPlanSequence 1
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[rt-brachy-application-setups]
TreatmentMachineSequence
>TreatmentMachineName 2
[rt-brachy-session-record]
RecordedSourceSequence
>SourceSerialNumber 2
TreatmentSessionApplicationSetupSequence
>RecordedChannelSequence
>>BrachyControlPointDeliveredSequence
>>>OverrideSequence
>>>>OperatorIdentificationSequence
>>>>>InstitutionCodeSequence 1
>>>>>InstitutionName 1
>>>>OperatorsName 2
>>PulseSpecificBrachyControlPointDeliveredSequence
>>>BrachyPulseControlPointDeliveredSequence
>>>>OverrideSequence
>>>>>OperatorIdentificationSequence
>>>>>>InstitutionCodeSequence 1
>>>>>>InstitutionName 1
>>>>>OperatorsName 2
[rt-delivery-device-common]
PatientSupportDevicesSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>DeviceSerialNumber 2
TreatmentDeviceIdentificationSequence
>DeviceSerialNumber 2
[rt-dose]
PlanOverviewSequence
>ReferencedImageSequence 1
>ReferencedStructureSetSequence 1
>TreatmentSite 2
ReferencedRTPlanSequence 1
ReferencedSpatialRegistrationSequence 2
ReferencedTreatmentRecordSequence 1
[rt-dose-contribution]
RadiationDoseIdentificationSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
RadiationDoseSequence
>ReferencedRTRadiationSequence 1
[rt-dose-contribution-record]
RadiationDoseIdentificationSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
RadiationDoseSequence
>ReferencedRTRadiationRecordSequence 1
[rt-dvh]
ReferencedStructureSetSequence 1
[rt-enhanced-prescription]
DosimetricObjectiveSequence
>DosimetricObjectiveParameterSequence
>>ReferencedSOPSequence 1
>OriginatingSOPInstanceReferenceSequence 1
RTPrescriptionSequence
>PlanningInputInformationSequence
>>ReferencedStudySequence 1
>PrescriptionNotesSequence
>>ReferencedSOPSequence 1
>PriorTreatmentReferenceSequence 2
>RTAnatomicPrescriptionSequence
>>ConceptualVolumeSequence
>>>ConceptualVolumeConstituentSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>OriginatingSOPInstanceReferenceSequence 1
>>>ConceptualVolumeSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>DerivationConceptualVolumeSequence
>>>>SourceConceptualVolumeSequence
>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>EquivalentConceptualVolumesSequence
>>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
[rt-fraction-scheme]
FractionGroupSequence
>ReferencedBeamSequence
>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>ReferencedSOPSequence 1
[rt-general-machine-verification]
OverriddenAttributesSequence
>OperatorIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
[rt-general-plan]
RTPlanDate 2
RTPlanTime 2
ReferencedStructureSetSequence 1
[rt-general-treatment-record]
ReferencedRTPlanSequence 2
TreatmentDate 2
TreatmentTime 2
[rt-image]
EnhancedRTBeamLimitingDeviceSequence
>DeviceSerialNumber 2
[rt-ion-beams]
IonBeamSequence
>EnhancedRTBeamLimitingDeviceSequence
>>DeviceSerialNumber 2
>TreatmentMachineName 2
[rt-ion-beams-session-record]
TreatmentSessionIonBeamSequence
>EnhancedRTBeamLimitingDeviceSequence
>>DeviceSerialNumber 2
>InterlockSequence
>>InterlockOriginatingDeviceSequence
>>>DeviceSerialNumber 2
>>InterlockResolutionUserSequence
>>>InstitutionCodeSequence 1
>>>InstitutionName 1
>IonControlPointDeliverySequence
>>OverrideSequence
>>>OperatorIdentificationSequence
>>>>InstitutionCodeSequence 1
>>>>InstitutionName 1
>>>OperatorsName 2
[rt-patient-position-acquisition-device]
AcquisitionDeviceSequence
>DeviceSerialNumber 2
GeneralAccessoryDefinitionSequence
>DeviceSerialNumber 2
PatientSupportDevicesSequence
>ConceptualVolumeSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>DeviceSerialNumber 2
RTAccessoryHolderDefinitionSequence
>DeviceSerialNumber 2
RTBeamLimitingDeviceDefinitionSequence
>DeviceSerialNumber 2
[rt-patient-position-acquisition-instruction]
AcquisitionTaskSequence
>AcquisitionSubtaskSequence
>>AcquisitionInitiationSequence
>>>ReferencedSOPSequence 1
>>AdditionalRTAccessoryDeviceSequence
>>>DeviceSpecificAcquisitionParameterSequence
>>>>ReferencedSOPSequence 1
>>CTImagingAcquisitionParameterSequence
>>>ScanStartPositionSequence
>>>>ImageReceptorPositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>>ImagingSourcePositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>ScanStopPositionSequence
>>>>ImageReceptorPositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>>ImagingSourcePositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>DeviceSpecificAcquisitionParameterSequence
>>>ReferencedSOPSequence 1
>>KVImagingGenerationParametersSequence
>>>XRayFilterSequence
>>>>DeviceSerialNumber 2
>>MVImagingGenerationParametersSequence
>>>RadiationGenerationModeSequence
>>>>RadiationGenerationModeSequence
>>>>>RadiationDeviceConfigurationAndCommissioningKeySequence
>>>>>>ReferencedSOPSequence 1
>>ProjectionImagingAcquisitionParameterSequence
>>>ImagingDeviceLocationMatrixSequence
>>>>ImageReceptorPositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>>ImagingSourcePositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>ImagingDeviceLocationParameterSequence
>>>>ImageReceptorPositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>>>ImagingSourcePositionSequence
>>>>>DevicePositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>ReferencedBaselineParametersRTRadiationInstanceSequence 1
>>ReferencedPositionReferenceInstanceSequence
>>>ReferencedStudySequence 1
>AcquisitionTaskApplicabilitySequence
>>ReferencedRTPlanSequence 1
>>ReferencedRTRadiationSequence 1
>>ReferencedRTRadiationSetSequence 1
>>>ReferencedRTRadiationSequence 1
>RTAcquisitionPatientPositionSequence
>>RTPatientPositionDisplacementSequence
>>>ConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSequence
>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>>OriginatingSOPInstanceReferenceSequence 1
>>>>ConceptualVolumeSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>DerivationConceptualVolumeSequence
>>>>>SourceConceptualVolumeSequence
>>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>EquivalentConceptualVolumesSequence
>>>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>>>OriginatingSOPInstanceReferenceSequence 1
>>>PatientSupportDisplacementSequence
>>>>PatientSupportPositionDeviceParameterSequence
>>>>>PatientSupportPositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>RTPatientPositionSequence
>>>PatientSupportPositionSequence
>>>>PatientSupportPositionDeviceParameterSequence
>>>>>PatientSupportPositionParameterSequence
>>>>>>ReferencedSOPSequence 1
[rt-patient-setup]
PatientSetupSequence
>PatientTreatmentPreparationSequence
>>PatientTreatmentPreparationProcedureSequence
>>>PatientTreatmentPreparationDeviceSequence
>>>>DeviceSerialNumber 2
>>>PatientTreatmentPreparationProcedureParameterSequence
>>>>ContentItemModifierSequence
>>>>>ReferencedSOPSequence 1
>>>>ReferencedSOPSequence 1
[rt-physician-intent]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RTPhysicianIntentSequence
>RTPhysicianIntentInputInstanceSequence
>>ReferencedStudySequence 1
>RTPhysicianIntentPredecessorSequence 1
>RTTreatmentApproachLabel 2
>TreatmentSite 1
[rt-radiation-common]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RTToleranceSetSequence
>PatientSupportPositionDeviceToleranceSequence
>>PatientSupportPositionToleranceSequence
>>>ReferencedSOPSequence 1
TreatmentPositionSequence
>PatientSupportPositionSequence
>>PatientSupportPositionDeviceParameterSequence
>>>PatientSupportPositionParameterSequence
>>>>ReferencedSOPSequence 1
[rt-radiation-record-common]
ConfirmationSequence
>AsserterIdentificationSequence
>>InstitutionCodeSequence 2
>>InstitutionName 2
>>StationName 2
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
InterlockSequence
>InterlockOriginatingDeviceSequence
>>DeviceSerialNumber 2
>InterlockResolutionUserSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
RTToleranceSetSequence
>PatientSupportPositionDeviceToleranceSequence
>>PatientSupportPositionToleranceSequence
>>>ReferencedSOPSequence 1
ReferencedRTInstanceSequence 1
TreatmentPositionSequence
>PatientSupportPositionSequence
>>PatientSupportPositionDeviceParameterSequence
>>>PatientSupportPositionParameterSequence
>>>>ReferencedSOPSequence 1
TreatmentToleranceViolationSequence
>OverrideSequence
>>AlternateValueSequence
>>>ReferencedSOPSequence 1
>>OperatorIdentificationSequence 1
>>>InstitutionCodeSequence 2
>>>InstitutionName 2
>>>StationName 2
[rt-radiation-record-set]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ReferencedRTRadiationRecordSequence 1
ReferencedRTRadiationSetSequence 1
[rt-radiation-salvage-record]
RadiationGenerationModeSequence
>RadiationDeviceConfigurationAndCommissioningKeySequence
>>ReferencedSOPSequence 1
[rt-radiation-set]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RTRadiationSequence 1
ReferencedRTPhysicianIntentSequence 2
TreatmentPositionGroupSequence
>ReferencedRTRadiationSequence 1
[rt-radiation-set-delivery-instruction]
OmittedRadiationSequence
>AsserterIdentificationSequence
>>InstitutionCodeSequence 2
>>InstitutionName 2
>>StationName 2
>ReferencedRTRadiationSequence 1
RTRadiationTaskSequence
>RTDeliveryStartPatientPositionSequence
>>RTPatientPositionDisplacementSequence
>>>ConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSequence
>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>>OriginatingSOPInstanceReferenceSequence 1
>>>>ConceptualVolumeSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>DerivationConceptualVolumeSequence
>>>>>SourceConceptualVolumeSequence
>>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>EquivalentConceptualVolumesSequence
>>>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>>>OriginatingSOPInstanceReferenceSequence 1
>>>PatientSupportDisplacementSequence
>>>>PatientSupportPositionDeviceParameterSequence
>>>>>PatientSupportPositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>>RTPatientPositionSequence
>>>PatientSupportPositionSequence
>>>>PatientSupportPositionDeviceParameterSequence
>>>>>PatientSupportPositionParameterSequence
>>>>>>ReferencedSOPSequence 1
>ReferencedRTRadiationSequence 1
>ReferencedRTTreatmentPreparationSequence 2
ReferencedRTRadiationSetSequence 1
TreatmentDeviceIdentificationSequence
>DeviceSerialNumber 2
[rt-roi-observations]
RTROIObservationsSequence
>ROIInterpreterSequence
>>InstitutionCodeSequence 2
>>InstitutionName 2
>>StationName 2
[rt-segment-annotation]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
RTSegmentAnnotationSequence
>SegmentCharacteristicsSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
>SegmentedRTAccessoryDeviceSequence
>>DeviceSerialNumber 2
[rt-series]
OperatorIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
OperatorsName 2
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[rt-treatment-machine-record]
TreatmentMachineSequence
>DeviceSerialNumber 2
>InstitutionName 2
>TreatmentMachineName 2
[rt-treatment-phase-intent]
IntendedRTTreatmentPhaseSequence
>IntendedPhaseEndDate 2
>IntendedPhaseStartDate 2
[rt-treatment-preparation]
PatientTreatmentPreparationProcedureSequence
>PatientTreatmentPreparationDeviceSequence
>>DeviceSerialNumber 2
>PatientTreatmentPreparationProcedureParameterSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
RTPatientPositionScopeSequence
>ReferencedRTPlanSequence 1
>ReferencedRTRadiationSequence 1
>ReferencedRTRadiationSetSequence 1
>>ReferencedRTRadiationSequence 1
RTTreatmentPreparationPatientPositionSequence
>RTPatientPositionDisplacementSequence
>>ConceptualVolumeSequence
>>>ConceptualVolumeConstituentSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>>OriginatingSOPInstanceReferenceSequence 1
>>>ConceptualVolumeSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>DerivationConceptualVolumeSequence
>>>>SourceConceptualVolumeSequence
>>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>>ReferencedDirectSegmentInstanceSequence 1
>>>EquivalentConceptualVolumesSequence
>>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>PatientSupportDisplacementSequence
>>>PatientSupportPositionDeviceParameterSequence
>>>>PatientSupportPositionParameterSequence
>>>>>ReferencedSOPSequence 1
>RTPatientPositionSequence
>>PatientSupportPositionSequence
>>>PatientSupportPositionDeviceParameterSequence
>>>>PatientSupportPositionParameterSequence
>>>>>ReferencedSOPSequence 1
[rt-treatment-summary-record]
FirstTreatmentDate 2
FractionGroupSummarySequence
>FractionStatusSummarySequence
>>TreatmentDate 2
>>TreatmentTime 2
MostRecentTreatmentDate 2
[scan-procedure]
AcquisitionDateTime 1
[scheduled-procedure-step]
ScheduledProcedureStepSequence
>ScheduledPerformingPhysicianIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
ScheduledSpecimenSequence
>SpecimenDescriptionSequence
>>SpecimenLocalizationContentItemSequence
>>>ReferencedSOPSequence 1
>>SpecimenPreparationSequence
>>>SpecimenPreparationStepContentItemSequence
>>>>ReferencedSOPSequence 1
[segment-reference]
ReferencedSpatialRegistrationSequence 1
SegmentReferenceSequence
>CombinationSegmentReferenceSequence
>>ConceptualVolumeConstituentSequence
>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>ReferencedDirectSegmentInstanceSequence 1
>>>OriginatingSOPInstanceReferenceSequence 1
>>ConceptualVolumeSegmentationReferenceSequence
>>>ReferencedDirectSegmentInstanceSequence 1
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>DirectSegmentReferenceSequence
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>>ReferencedSOPSequence 1
[segmentation-image]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
SegmentSequence
>ContentCreatorIdentificationCodeSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
[segmentation-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
[segmentation-series]
ReferencedPerformedProcedureStepSequence 1
[slide-label]
BarcodeValue 2
LabelText 2
[softcopy-voi-lut]
SoftcopyVOILUTSequence
>ReferencedImageSequence 1
[sop-common]
ContributingEquipmentSequence
>OperatorIdentificationSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
ConversionSourceAttributesSequence 1
HL7StructuredDocumentReferenceSequence 1
ReferencedDefinedProtocolSequence 1
ReferencedPerformedProtocolSequence 1
[sparse-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
[spatial-fiducials]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
FiducialSetSequence
>FiducialSequence
>>GraphicCoordinatesDataSequence
>>>ReferencedImageSequence 1
>ReferencedImageSequence 1
[spatial-registration]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
RegistrationSequence
>ReferencedImageSequence 1
[specimen]
SpecimenDescriptionSequence
>SpecimenLocalizationContentItemSequence
>>ReferencedSOPSequence 1
>SpecimenPreparationSequence
>>SpecimenPreparationStepContentItemSequence
>>>ReferencedSOPSequence 1
[sr-document-content]
ContentSequence
>ReferencedSOPSequence 1
ObservationDateTime 1
ReferencedSOPSequence 1
[sr-document-general]
AuthorObserverSequence
>InstitutionCodeSequence 2
>InstitutionName 2
>StationName 2
ContentDate 1
ContentTime 1
CurrentRequestedProcedureEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
CustodialOrganizationSequence
>InstitutionCodeSequence 2
>InstitutionName 2
IdenticalDocumentsSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ParticipantSequence
>InstitutionCodeSequence 2
>InstitutionName 2
>StationName 2
PertinentOtherEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
PredecessorDocumentsSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
ReferencedInstanceSequence 1
ReferencedRequestSequence
>ReferencedStudySequence 2
>RequestedProcedureDescription 2
[sr-document-series]
ReferencedPerformedProcedureStepSequence 2
[stereometric-relationship]
StereoPairsSequence
>LeftImageSequence 1
>RightImageSequence 1
[structure-set]
ReferencedFrameOfReferenceSequence
>RTReferencedStudySequence
>>RTReferencedSeriesSequence
>>>ContourImageSequence 1
SourceSeriesInformationSequence
>SeriesDate 1
>SeriesTime 1
StructureSetROISequence
>ConceptualVolumeIdentificationSequence
>>DerivationConceptualVolumeSequence
>>>SourceConceptualVolumeSequence
>>>>ConceptualVolumeConstituentSegmentationReferenceSequence
>>>>>ReferencedDirectSegmentInstanceSequence 1
>>EquivalentConceptualVolumesSequence
>>>EquivalentConceptualVolumeInstanceReferenceSequence 1
>>OriginatingSOPInstanceReferenceSequence 1
>ROICreatorSequence
>>InstitutionCodeSequence 2
>>InstitutionName 2
>>StationName 2
[structured-display]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[structured-display-image-box]
StructuredDisplayImageBoxSequence
>ReferencedFirstFrameSequence 2
>ReferencedImageSequence 2
>>ReferencedPresentationStateSequence 1
>ReferencedInstanceSequence 1
>ReferencedPresentationStateSequence 1
>ReferencedStereometricInstanceSequence 1
[subjective-refraction-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[substance-administration-log]
SubstanceAdministrationParameterSequence
>ReferencedSOPSequence 1
[surface-segmentation]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
SegmentSequence
>ContentCreatorIdentificationCodeSequence
>>InstitutionCodeSequence 1
>>InstitutionName 1
>ReferencedSurfaceSequence
>>SegmentSurfaceSourceInstanceSequence 2
[tomotherapeutic-delivery-device]
RTBeamLimitingDeviceDefinitionSequence
>DeviceSerialNumber 2
RadiationGenerationModeSequence
>RadiationDeviceConfigurationAndCommissioningKeySequence
>>ReferencedSOPSequence 1
[tractography-results]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ContentDate 1
ContentTime 1
ReferencedInstanceSequence 1
[tractography-results-series]
ReferencedPerformedProcedureStepSequence 1
[unified-procedure-step-performed-procedure-information]
UnifiedProcedureStepPerformedProcedureSequence
>OutputInformationSequence
>>ReferencedSOPSequence 1
>PerformedProcessingParametersSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[unified-procedure-step-progress-information]
ProcedureStepProgressInformationSequence
>ProcedureStepProgressParametersSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
[unified-procedure-step-relationship]
ReferencedPatientPhotoSequence
>ReferencedSOPSequence 1
[unified-procedure-step-scheduled-procedure-information]
InputInformationSequence
>ReferencedSOPSequence 1
ScheduledProcessingParametersSequence
>ContentItemModifierSequence
>>ReferencedSOPSequence 1
>ReferencedSOPSequence 1
[us-image]
AcquisitionDateTime 1
TransducerIdentificationSequence
>DeviceSerialNumber 2
[uv-mapping]
UVMappingSequence
>ReferencedTextureSequence 1
[variable-modality-lut]
VariableModalityLUTSequence
>ReferencedImageSequence 1
[visit-admission]
ConsultingPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
PhysiciansOfRecordIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
ReferringPhysicianIdentificationSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[visual-acuity-measurements-series]
ReferencedPerformedProcedureStepSequence 1
[visual-field-static-perimetry-measurements-series]
PerformedProtocolCodeSequence
>ProtocolContextSequence
>>ContentItemModifierSequence
>>>ReferencedSOPSequence 1
>>ReferencedSOPSequence 1
ReferencedPerformedProcedureStepSequence 1
RequestAttributesSequence
>ScheduledProtocolCodeSequence
>>ProtocolContextSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
[visual-field-static-perimetry-test-reliability]
VisualFieldTestReliabilityGlobalIndexSequence
>DataObservationSequence
>>ReferencedSOPSequence 1
[visual-field-static-perimetry-test-results]
VisualFieldGlobalResultsIndexSequence
>DataObservationSequence
>>ReferencedSOPSequence 1
[vl-image]
ContentTime 1
ReferencedImageSequence 1
[vl-whole-slide-microscopy-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[volume-cropping]
VolumeCroppingSequence
>ReferencedImageSequence 1
[volumetric-presentation-state-identification]
ContentCreatorIdentificationCodeSequence
>InstitutionCodeSequence 1
>InstitutionName 1
[volumetric-presentation-state-relationship]
VolumetricPresentationInputSetSequence
>ReferencedImageSequence 1
>ReferencedSpatialRegistrationSequence 1
[waveform-annotation]
WaveformAnnotationSequence 1
[waveform-identification]
AcquisitionDateTime 1
ContentDate 1
ContentTime 1
[whole-slide-microscopy-image]
AcquisitionDateTime 1
[whole-slide-microscopy-series]
ReferencedPerformedProcedureStepSequence 1
[x-ray-3d-angiographic-acquisition]
XRay3DAcquisitionSequence
>ContrastBolusAgent 1
>EndAcquisitionDateTime 1
>SourceImageSequence 1
>StartAcquisitionDateTime 1
[x-ray-3d-angiographic-image-contributing-sources]
ContributingSourcesSequence
>AcquisitionDateTime 1
>AcquisitionDeviceProcessingDescription 1
>ContributingSOPInstancesReferenceSequence
>>ReferencedSeriesSequence
>>>ReferencedInstanceSequence 1
>DeviceSerialNumber 1
>OperatorIdentificationSequence 1
>>InstitutionCodeSequence 1
>>InstitutionName 1
>OperatorsName 1
>ProtocolName 1
>StationName 1
[x-ray-3d-angiographic-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[x-ray-3d-craniofacial-acquisition]
XRay3DAcquisitionSequence
>ContrastBolusAgent 1
>EndAcquisitionDateTime 1
>SourceImageSequence 1
>StartAcquisitionDateTime 1
[x-ray-3d-craniofacial-image-contributing-sources]
ContributingSourcesSequence
>AcquisitionDateTime 1
>AcquisitionDeviceProcessingDescription 1
>ContributingSOPInstancesReferenceSequence
>>ReferencedSeriesSequence
>>>ReferencedInstanceSequence 1
>DeviceSerialNumber 1
>OperatorIdentificationSequence 1
>>InstitutionCodeSequence 1
>>InstitutionName 1
>OperatorsName 1
>ProtocolName 1
>StationName 1
[x-ray-3d-craniofacial-image-multi-frame-functional-groups]
ContentDate 1
ContentTime 1
PerFrameFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
SharedFunctionalGroupsSequence
>DerivationImageSequence
>>SourceImageSequence 2
>RealWorldValueMappingSequence
>>QuantityDefinitionSequence
>>>ContentItemModifierSequence
>>>>ReferencedSOPSequence 1
>>>ReferencedSOPSequence 1
>ReferencedImageSequence 2
[x-ray-3d-image]
ReferencedImageEvidenceSequence
>ReferencedSeriesSequence
>>ReferencedSOPSequence 1
[x-ray-image]
ReferencedImageSequence 1
[xa-xrf-presentation-state-mask]
MaskSubtractionSequence
>ReferencedImageSequence 1
[xa-xrf-presentation-state-presentation]
MultiFramePresentationSequence
>ReferencedImageSequence 1
[xa-xrf-presentation-state-shutter]
FrameDisplayShutterSequence
>ReferencedImageSequence 1
[xa-xrf-series]
ReferencedPerformedProcedureStepSequence 1
"""

_IOD_MODULES = """
12-lead-ecg: patient general-study patient-study general-series waveform-identification
    acquisition-context waveform-annotation sop-common
acquisition-context-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
advanced-blending-presentation-state: patient general-study patient-study general-series
    enhanced-general-equipment presentation-state-identification
    advanced-blending-presentation-state displayed-area graphic-annotation
    common-instance-reference specimen sop-common
ambulatory-ecg: patient general-study patient-study general-series waveform-identification
    acquisition-context waveform-annotation sop-common
arterial-pulse-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
autorefraction-measurements: patient general-study patient-study general-series
    autorefraction-measurements-series enhanced-general-equipment
    general-ophthalmic-refractive-measurements sop-common
basic-cardiac-electrophysiology-waveform: patient general-study patient-study general-series
    waveform-identification acquisition-context waveform-annotation sop-common
basic-structured-display: patient general-study patient-study general-series
    enhanced-general-equipment structured-display structured-display-image-box
    common-instance-reference specimen sop-common
basic-text-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
basic-voice-audio-waveform: patient general-study patient-study general-series
    waveform-identification acquisition-context waveform-annotation sop-common
blending-softcopy-presentation-state: patient general-study patient-study general-series
    presentation-state-identification presentation-state-blending displayed-area
    graphic-annotation specimen sop-common
body-position-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
breast-projection-x-ray-image: patient general-study patient-study general-series dx-series
    enhanced-mammography-series enhanced-general-equipment enhanced-mammography-image
    acquisition-context breast-projection-x-ray-image-multi-frame-functional-groups specimen
    sop-common common-instance-reference
breast-tomosynthesis-image: patient general-study patient-study general-series
    enhanced-mammography-series enhanced-general-equipment acquisition-context
    breast-tomosynthesis-image-multi-frame-functional-groups specimen x-ray-3d-image
    breast-tomosynthesis-contributing-sources breast-tomosynthesis-acquisition sop-common
    common-instance-reference
c-arm-photon-electron-radiation: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-delivery-device-common rt-radiation-common
    c-arm-photon-electron-delivery-device sop-common common-instance-reference
    radiotherapy-common-instance
c-arm-photon-electron-radiation-record: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-delivery-device-common
    rt-radiation-record-common c-arm-photon-electron-delivery-device sop-common
    common-instance-reference radiotherapy-common-instance
chest-cad-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
colon-cad-sr: patient general-study patient-study sr-document-series enhanced-general-equipment
    sr-document-general sr-document-content sop-common
color-palette: sop-common color-palette-definition
color-softcopy-presentation-state: patient general-study patient-study general-series
    presentation-state-identification presentation-state-relationship displayed-area
    graphic-annotation specimen sop-common
comprehensive-3d-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
comprehensive-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
computed-radiography-image: patient general-study patient-study general-series general-image
    contrast-bolus specimen sop-common common-instance-reference
confocal-microscopy-image: patient general-study patient-study general-series
    enhanced-general-equipment general-image
    confocal-microscopy-image-multi-frame-functional-groups specimen acquisition-context
    sop-common common-instance-reference
confocal-microscopy-tiled-pyramidal-image: patient general-study patient-study general-series
    enhanced-general-equipment general-image
    confocal-microscopy-tiled-pyramidal-image-multi-frame-functional-groups specimen
    acquisition-context sop-common common-instance-reference
content-assessment-results: patient general-study patient-study general-series
    enhanced-general-equipment content-assessment-results sop-common common-instance-reference
corneal-topography-map: patient general-study patient-study general-series
    corneal-topography-map-series enhanced-general-equipment general-image
    corneal-topography-map-image corneal-topography-map-analysis acquisition-context sop-common
ct-defined-procedure-protocol: enhanced-general-equipment protocol-context instructions
    patient-positioning sop-common
ct-image: patient general-study patient-study general-series general-image contrast-bolus
    specimen ct-image multi-energy-ct-image sop-common common-instance-reference
ct-performed-procedure-protocol: patient general-study patient-study general-series
    enhanced-series enhanced-general-equipment protocol-context patient-protocol-context
    instructions patient-positioning performed-ct-reconstruction performed-storage sop-common
deformable-spatial-registration: patient general-study patient-study general-series
    enhanced-general-equipment deformable-spatial-registration common-instance-reference
    sop-common
dermoscopic-photography-image: patient general-study patient-study general-series
    enhanced-general-equipment general-image acquisition-context vl-image sop-common
    common-instance-reference
digital-intra-oral-x-ray-image: patient general-study patient-study general-series dx-series
    general-image contrast-bolus specimen acquisition-context sop-common
    common-instance-reference
digital-mammography-x-ray-image: patient general-study patient-study general-series dx-series
    mammography-series general-image contrast-bolus specimen acquisition-context sop-common
    common-instance-reference
digital-x-ray-image: patient general-study patient-study general-series dx-series general-image
    contrast-bolus specimen acquisition-context sop-common common-instance-reference
electromyogram: patient general-study patient-study general-series enhanced-general-equipment
    waveform-identification acquisition-context waveform-annotation sop-common
electrooculogram: patient general-study patient-study general-series enhanced-general-equipment
    waveform-identification acquisition-context waveform-annotation sop-common
encapsulated-cda: patient general-study patient-study encapsulated-document-series
    encapsulated-document sop-common
encapsulated-mtl: patient general-study patient-study encapsulated-document-series
    enhanced-general-equipment encapsulated-document sop-common common-instance-reference
encapsulated-obj: patient general-study patient-study encapsulated-document-series
    enhanced-general-equipment encapsulated-document sop-common common-instance-reference
encapsulated-pdf: patient general-study patient-study encapsulated-document-series
    encapsulated-document sop-common
encapsulated-stl: patient general-study patient-study encapsulated-document-series
    enhanced-general-equipment encapsulated-document sop-common common-instance-reference
enhanced-continuous-rt-image: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment sparse-multi-frame-functional-groups
    enhanced-rt-image-device enhanced-rt-image sop-common common-instance-reference
    radiotherapy-common-instance
enhanced-ct-image: patient general-study patient-study general-series ct-series
    enhanced-general-equipment enhanced-ct-image-multi-frame-functional-groups
    acquisition-context specimen enhanced-ct-image sop-common common-instance-reference
enhanced-mr-color-image: patient general-study patient-study general-series mr-series
    enhanced-general-equipment enhanced-mr-color-image-multi-frame-functional-groups
    acquisition-context specimen enhanced-mr-image sop-common common-instance-reference
enhanced-mr-image: patient general-study patient-study general-series mr-series
    enhanced-general-equipment enhanced-mr-image-multi-frame-functional-groups
    acquisition-context specimen enhanced-mr-image sop-common common-instance-reference
enhanced-pet-image: patient general-study patient-study general-series enhanced-pet-series
    enhanced-general-equipment acquisition-context
    enhanced-pet-image-multi-frame-functional-groups specimen enhanced-pet-image sop-common
    common-instance-reference
enhanced-rt-image: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment enhanced-rt-image-multi-frame-functional-groups
    enhanced-rt-image-device enhanced-rt-image sop-common common-instance-reference
    radiotherapy-common-instance
enhanced-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
enhanced-us-volume: patient general-study patient-study general-series enhanced-us-series
    enhanced-general-equipment general-image enhanced-us-volume-multi-frame-functional-groups
    acquisition-context specimen enhanced-us-image sop-common common-instance-reference
enhanced-x-ray-radiation-dose-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
enhanced-xa-image: patient general-study patient-study general-series xa-xrf-series
    enhanced-general-equipment acquisition-context
    enhanced-xa-image-multi-frame-functional-groups specimen enhanced-xa-xrf-image sop-common
    common-instance-reference
enhanced-xrf-image: patient general-study patient-study general-series xa-xrf-series
    enhanced-general-equipment acquisition-context
    enhanced-xrf-image-multi-frame-functional-groups specimen enhanced-xa-xrf-image sop-common
    common-instance-reference
extensible-sr: patient general-study patient-study sr-document-series enhanced-general-equipment
    sr-document-general sr-document-content sop-common
general-32-bit-ecg: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
general-audio-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
general-ecg: patient general-study patient-study general-series waveform-identification
    acquisition-context waveform-annotation sop-common
generic-implant-template: generic-implant-template-description sop-common
grayscale-softcopy-presentation-state: patient general-study patient-study general-series
    presentation-state-identification presentation-state-relationship displayed-area
    graphic-annotation softcopy-voi-lut specimen sop-common
hanging-protocol: sop-common hanging-protocol-display
height-map-segmentation: patient general-study patient-study general-series segmentation-series
    enhanced-general-equipment general-image
    height-map-segmentation-multi-frame-functional-groups height-map-segmentation-image
    sop-common common-instance-reference
hemodynamic-waveform: patient general-study patient-study general-series waveform-identification
    acquisition-context waveform-annotation sop-common
implant-assembly-template: implant-assembly-template sop-common
implant-template-group: implant-template-group sop-common
implantation-plan-sr-document: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
intraocular-lens-calculations: patient general-study patient-study general-series
    intraocular-lens-calculations-series enhanced-general-equipment
    intraocular-lens-calculations general-ophthalmic-refractive-measurements sop-common
intravascular-optical-coherence-tomography-image: patient general-study patient-study
    general-series intravascular-oct-series enhanced-general-equipment
    intravascular-optical-coherence-tomography-image-multi-frame-functional-groups
    acquisition-context intravascular-oct-image sop-common common-instance-reference
inventory: inventory sop-common
keratometry-measurements: patient general-study patient-study general-series
    keratometry-measurements-series enhanced-general-equipment
    general-ophthalmic-refractive-measurements sop-common
key-object-selection-document: patient general-study patient-study key-object-document-series
    key-object-document sr-document-content sop-common
legacy-converted-enhanced-ct-image: patient general-study patient-study general-series ct-series
    enhanced-general-equipment contrast-bolus
    legacy-converted-enhanced-ct-image-multi-frame-functional-groups acquisition-context
    specimen enhanced-ct-image sop-common common-instance-reference
legacy-converted-enhanced-mr-image: patient general-study patient-study general-series mr-series
    enhanced-general-equipment contrast-bolus
    legacy-converted-enhanced-mr-image-multi-frame-functional-groups acquisition-context
    specimen enhanced-mr-image sop-common common-instance-reference
legacy-converted-enhanced-pet-image: patient general-study patient-study general-series
    enhanced-pet-series enhanced-general-equipment acquisition-context
    legacy-converted-enhanced-pet-image-multi-frame-functional-groups specimen
    enhanced-pet-image sop-common common-instance-reference
lensometry-measurements: patient general-study patient-study general-series
    lensometry-measurements-series enhanced-general-equipment
    general-ophthalmic-refractive-measurements sop-common
macular-grid-thickness-and-volume-report: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
mammography-cad-sr: patient general-study patient-study sr-document-series sr-document-general
    sr-document-content sop-common
microscopy-bulk-simple-annotations: patient general-study patient-study general-series
    microscopy-bulk-simple-annotations-series enhanced-general-equipment
    microscopy-bulk-simple-annotations specimen common-instance-reference sop-common
mr-image: patient general-study patient-study general-series general-image contrast-bolus
    specimen mr-image sop-common common-instance-reference
mr-spectroscopy: patient general-study patient-study general-series mr-series
    enhanced-general-equipment mr-spectroscopy-multi-frame-functional-groups acquisition-context
    specimen mr-spectroscopy sop-common common-instance-reference
multi-channel-respiratory-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
multi-frame-grayscale-byte-secondary-capture-image: patient general-study patient-study
    general-series general-image
    multi-frame-grayscale-byte-secondary-capture-image-multi-frame-functional-groups specimen
    sop-common common-instance-reference
multi-frame-grayscale-word-secondary-capture-image: patient general-study patient-study
    general-series general-image
    multi-frame-grayscale-word-secondary-capture-image-multi-frame-functional-groups specimen
    sop-common common-instance-reference
multi-frame-single-bit-secondary-capture-image: patient general-study patient-study
    general-series general-image specimen sop-common common-instance-reference
multi-frame-true-color-secondary-capture-image: patient general-study patient-study
    general-series general-image
    multi-frame-true-color-secondary-capture-image-multi-frame-functional-groups specimen
    sop-common common-instance-reference
nuclear-medicine-image: patient general-study patient-study general-series general-image
    acquisition-context specimen nm-image sop-common common-instance-reference
ophthalmic-axial-measurements: patient general-study patient-study general-series
    ophthalmic-axial-measurements-series enhanced-general-equipment
    ophthalmic-axial-measurements general-ophthalmic-refractive-measurements sop-common
ophthalmic-optical-coherence-tomography-b-scan-volume-analysis: patient general-study
    patient-study general-series ophthalmic-tomography-b-scan-volume-analysis-series
    enhanced-general-equipment
    ophthalmic-optical-coherence-tomography-b-scan-volume-analysis-image
    ophthalmic-optical-coherence-tomography-b-scan-volume-analysis-multi-frame-functional-groups
    sop-common common-instance-reference
ophthalmic-optical-coherence-tomography-en-face-image: patient general-study patient-study
    general-series ophthalmic-tomography-en-face-series enhanced-general-equipment general-image
    ophthalmic-optical-coherence-tomography-en-face-image sop-common common-instance-reference
ophthalmic-photography-16-bit-image: patient general-study patient-study general-series
    general-image acquisition-context ophthalmic-photography-image sop-common
    common-instance-reference
ophthalmic-photography-8-bit-image: patient general-study patient-study general-series
    general-image acquisition-context ophthalmic-photography-image sop-common
    common-instance-reference
ophthalmic-thickness-map: patient general-study patient-study general-series
    ophthalmic-thickness-map-series enhanced-general-equipment general-image
    ophthalmic-thickness-map acquisition-context sop-common common-instance-reference
ophthalmic-tomography-image: patient general-study patient-study general-series
    ophthalmic-tomography-series enhanced-general-equipment
    ophthalmic-tomography-image-multi-frame-functional-groups acquisition-context
    ophthalmic-tomography-image sop-common common-instance-reference
ophthalmic-visual-field-static-perimetry-measurements: patient general-study patient-study
    general-series visual-field-static-perimetry-measurements-series enhanced-general-equipment
    visual-field-static-perimetry-test-reliability visual-field-static-perimetry-test-results
    sop-common
parametric-map: patient general-study patient-study general-series parametric-map-series
    enhanced-general-equipment general-image parametric-map-image
    parametric-map-multi-frame-functional-groups acquisition-context specimen
    common-instance-reference sop-common
patient-radiation-dose-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
performed-imaging-agent-administration-sr: patient general-study patient-study
    sr-document-series enhanced-general-equipment sr-document-general sr-document-content
    sop-common
photoacoustic-image: patient general-study patient-study general-series enhanced-series
    enhanced-general-equipment general-image photoacoustic-image-multi-frame-functional-groups
    specimen acquisition-context photoacoustic-image photoacoustic-reconstruction sop-common
    common-instance-reference
planar-mpr-volumetric-presentation-state: patient general-study patient-study general-series
    enhanced-general-equipment volumetric-presentation-state-identification
    volumetric-presentation-state-relationship volume-cropping graphic-annotation sop-common
    common-instance-reference
planned-imaging-agent-administration-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
positron-emission-tomography-image: patient general-study patient-study general-series
    pet-series general-image specimen pet-image acquisition-context sop-common
    common-instance-reference
procedure-log: patient general-study sr-document-series sr-document-general sr-document-content
    sop-common
protocol-approval: enhanced-general-equipment sop-common protocol-approval
pseudo-color-softcopy-presentation-state: patient general-study patient-study general-series
    presentation-state-identification presentation-state-relationship displayed-area
    graphic-annotation softcopy-voi-lut specimen sop-common
radiopharmaceutical-radiation-dose-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
raw-data: patient general-study patient-study general-series acquisition-context specimen
    raw-data sop-common
real-time-audio-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context sop-common
real-time-video-endoscopic-image: patient general-study patient-study general-series
    enhanced-general-equipment general-image acquisition-context specimen vl-image sop-common
    common-instance-reference
real-time-video-photographic-image: patient general-study patient-study general-series
    enhanced-general-equipment general-image acquisition-context specimen vl-image sop-common
    common-instance-reference
real-world-value-mapping: patient general-study patient-study general-series
    real-world-value-mapping common-instance-reference sop-common
rendition-selection-document: patient general-study patient-study key-object-document-series
    enhanced-general-equipment key-object-document sr-document-content sop-common
respiratory-waveform: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
robotic-arm-radiation: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-delivery-device-common rt-radiation-common
    robotic-arm-delivery-device sop-common common-instance-reference
    radiotherapy-common-instance
robotic-arm-radiation-record: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-delivery-device-common
    rt-radiation-record-common robotic-arm-delivery-device sop-common common-instance-reference
    radiotherapy-common-instance
routine-scalp-electroencephalogram: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
rt-beams-delivery-instruction: patient general-study patient-study general-series
    rt-beams-delivery-instruction common-instance-reference sop-common
rt-beams-treatment-record: patient general-study patient-study rt-series
    rt-general-treatment-record rt-patient-setup rt-treatment-machine-record
    rt-beams-session-record rt-treatment-summary-record sop-common common-instance-reference
rt-brachy-application-setup-delivery-instruction: patient general-study patient-study
    general-series enhanced-general-equipment rt-brachy-application-setup-delivery-instruction
    common-instance-reference sop-common
rt-brachy-treatment-record: patient general-study patient-study rt-series
    rt-general-treatment-record rt-patient-setup rt-treatment-machine-record
    rt-brachy-session-record rt-treatment-summary-record sop-common common-instance-reference
rt-dose: patient general-study patient-study rt-series general-image rt-dose rt-dvh sop-common
    common-instance-reference
rt-image: patient general-study patient-study rt-series general-image contrast-bolus rt-image
    approval sop-common common-instance-reference
rt-ion-beams-treatment-record: patient general-study patient-study rt-series
    rt-general-treatment-record rt-patient-setup rt-treatment-machine-record
    rt-ion-beams-session-record rt-treatment-summary-record sop-common common-instance-reference
rt-ion-plan: patient general-study patient-study rt-series rt-general-plan rt-patient-setup
    rt-fraction-scheme rt-ion-beams approval sop-common common-instance-reference
rt-patient-position-acquisition-instruction: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-patient-position-acquisition-device
    rt-patient-position-acquisition-instruction sop-common common-instance-reference
    radiotherapy-common-instance
rt-physician-intent: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-physician-intent rt-enhanced-prescription
    rt-treatment-phase-intent sop-common common-instance-reference radiotherapy-common-instance
rt-plan: patient general-study patient-study rt-series rt-general-plan rt-patient-setup
    rt-fraction-scheme rt-beams rt-brachy-application-setups approval sop-common
    common-instance-reference
rt-radiation-record-set: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-radiation-record-set rt-dose-contribution-record sop-common
    common-instance-reference radiotherapy-common-instance
rt-radiation-salvage-record: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-delivery-device-common
    rt-radiation-record-common rt-radiation-salvage-record sop-common common-instance-reference
    radiotherapy-common-instance
rt-radiation-set: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-radiation-set rt-dose-contribution sop-common
    common-instance-reference radiotherapy-common-instance
rt-radiation-set-delivery-instruction: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-radiation-set-delivery-instruction
    sop-common common-instance-reference radiotherapy-common-instance
rt-segment-annotation: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-segment-annotation segment-reference sop-common
    common-instance-reference radiotherapy-common-instance
rt-structure-set: patient general-study patient-study rt-series structure-set
    rt-roi-observations approval sop-common common-instance-reference
rt-treatment-preparation: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-treatment-preparation sop-common common-instance-reference
    radiotherapy-common-instance
rt-treatment-summary-record: patient general-study patient-study rt-series
    rt-general-treatment-record rt-treatment-summary-record sop-common common-instance-reference
secondary-capture-image: patient general-study patient-study general-series general-image
    specimen sop-common common-instance-reference
segmentation: patient general-study patient-study general-series segmentation-series
    enhanced-general-equipment general-image segmentation-image
    segmentation-multi-frame-functional-groups specimen common-instance-reference sop-common
simplified-adult-echo-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
sleep-electroencephalogram: patient general-study patient-study general-series
    enhanced-general-equipment waveform-identification acquisition-context waveform-annotation
    sop-common
spatial-fiducials: patient general-study patient-study general-series spatial-fiducials
    common-instance-reference sop-common
spatial-registration: patient general-study patient-study general-series spatial-registration
    common-instance-reference sop-common
spectacle-prescription-report: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
stereometric-relationship: patient general-study patient-study general-series
    stereometric-relationship common-instance-reference sop-common
subjective-refraction-measurements: patient general-study patient-study general-series
    subjective-refraction-measurements-series enhanced-general-equipment
    general-ophthalmic-refractive-measurements sop-common
surface-scan-mesh: patient general-study patient-study general-series
    optical-surface-scanner-series enhanced-general-equipment uv-mapping scan-procedure specimen
    sop-common
surface-scan-point-cloud: patient general-study patient-study general-series
    optical-surface-scanner-series enhanced-general-equipment uv-mapping scan-procedure specimen
    sop-common
surface-segmentation: patient general-study patient-study general-series segmentation-series
    enhanced-general-equipment surface-segmentation common-instance-reference sop-common
tomotherapeutic-radiation: patient general-study patient-study general-series enhanced-rt-series
    enhanced-general-equipment rt-delivery-device-common rt-radiation-common
    tomotherapeutic-delivery-device sop-common common-instance-reference
    radiotherapy-common-instance
tomotherapeutic-radiation-record: patient general-study patient-study general-series
    enhanced-rt-series enhanced-general-equipment rt-delivery-device-common
    rt-radiation-record-common tomotherapeutic-delivery-device sop-common
    common-instance-reference radiotherapy-common-instance
tractography-results: patient general-study patient-study general-series
    tractography-results-series enhanced-general-equipment tractography-results specimen
    common-instance-reference sop-common
ultrasound-image: patient general-study patient-study general-series general-image
    contrast-bolus specimen us-image sop-common common-instance-reference
ultrasound-multi-frame-image: patient general-study patient-study general-series general-image
    contrast-bolus specimen us-image sop-common common-instance-reference
variable-modality-lut-softcopy-presentation-state: patient general-study patient-study
    general-series presentation-state-identification presentation-state-relationship
    displayed-area graphic-annotation variable-modality-lut softcopy-voi-lut specimen sop-common
video-endoscopic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
video-microscopic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
video-photographic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
visual-acuity-measurements: patient general-study patient-study general-series
    visual-acuity-measurements-series enhanced-general-equipment
    general-ophthalmic-refractive-measurements sop-common
vl-endoscopic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
vl-microscopic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
vl-photographic-image: patient general-study patient-study general-series general-image
    acquisition-context specimen vl-image sop-common common-instance-reference
vl-slide-coordinates-microscopic-image: patient general-study patient-study general-series
    general-image acquisition-context specimen vl-image sop-common common-instance-reference
vl-whole-slide-microscopy-image: patient general-study patient-study general-series
    whole-slide-microscopy-series enhanced-general-equipment general-image acquisition-context
    vl-whole-slide-microscopy-image-multi-frame-functional-groups specimen
    whole-slide-microscopy-image slide-label sop-common common-instance-reference
volume-rendering-volumetric-presentation-state: patient general-study patient-study
    general-series enhanced-general-equipment volumetric-presentation-state-identification
    volumetric-presentation-state-relationship volume-cropping graphic-annotation sop-common
    common-instance-reference
waveform-acquisition-presentation-state: patient general-study patient-study general-series
    enhanced-general-equipment presentation-state-identification sop-common
waveform-annotation-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
waveform-presentation-state: patient general-study patient-study general-series
    enhanced-general-equipment presentation-state-identification sop-common
wide-field-ophthalmic-photography-3d-coordinates-image: patient general-study patient-study
    general-series enhanced-general-equipment general-image acquisition-context
    ophthalmic-photography-image sop-common common-instance-reference
wide-field-ophthalmic-photography-stereographic-projection-image: patient general-study
    patient-study general-series enhanced-general-equipment general-image acquisition-context
    ophthalmic-photography-image sop-common common-instance-reference
x-ray-3d-angiographic-image: patient general-study patient-study general-series enhanced-series
    enhanced-general-equipment acquisition-context
    x-ray-3d-angiographic-image-multi-frame-functional-groups specimen x-ray-3d-image
    x-ray-3d-angiographic-image-contributing-sources x-ray-3d-angiographic-acquisition
    sop-common common-instance-reference
x-ray-3d-craniofacial-image: patient general-study patient-study general-series enhanced-series
    enhanced-general-equipment acquisition-context
    x-ray-3d-craniofacial-image-multi-frame-functional-groups specimen x-ray-3d-image
    x-ray-3d-craniofacial-image-contributing-sources x-ray-3d-craniofacial-acquisition
    sop-common common-instance-reference
x-ray-angiographic-image: patient general-study patient-study general-series general-image
    contrast-bolus specimen x-ray-image sop-common common-instance-reference
x-ray-radiation-dose-sr: patient general-study patient-study sr-document-series
    enhanced-general-equipment sr-document-general sr-document-content sop-common
x-ray-radiofluoroscopic-image: patient general-study patient-study general-series general-image
    contrast-bolus specimen x-ray-image sop-common common-instance-reference
xa-defined-procedure-protocol: enhanced-general-equipment protocol-context instructions
    patient-positioning sop-common
xa-performed-procedure-protocol: patient general-study patient-study general-series
    enhanced-series enhanced-general-equipment protocol-context patient-protocol-context
    instructions patient-positioning performed-xa-acquisition performed-xa-reconstruction
    performed-storage sop-common
xa-xrf-grayscale-softcopy-presentation-state: patient general-study patient-study general-series
    enhanced-general-equipment presentation-state-identification presentation-state-relationship
    displayed-area graphic-annotation softcopy-voi-lut xa-xrf-presentation-state-mask
    xa-xrf-presentation-state-shutter xa-xrf-presentation-state-presentation specimen sop-common
"""

_SOP_CLASS_IODS = """
1.2.840.10008.1.3.10 basic-directory
1.2.840.10008.5.1.4.1.1.1 computed-radiography-image
1.2.840.10008.5.1.4.1.1.1.1 digital-x-ray-image
1.2.840.10008.5.1.4.1.1.1.1.1 digital-x-ray-image
1.2.840.10008.5.1.4.1.1.1.2 digital-mammography-x-ray-image
1.2.840.10008.5.1.4.1.1.1.2.1 digital-mammography-x-ray-image
1.2.840.10008.5.1.4.1.1.1.3 digital-intra-oral-x-ray-image
1.2.840.10008.5.1.4.1.1.1.3.1 digital-intra-oral-x-ray-image
1.2.840.10008.5.1.4.1.1.2 ct-image
1.2.840.10008.5.1.4.1.1.2.1 enhanced-ct-image
1.2.840.10008.5.1.4.1.1.2.2 legacy-converted-enhanced-ct-image
1.2.840.10008.5.1.4.1.1.3.1 ultrasound-multi-frame-image
1.2.840.10008.5.1.4.1.1.4 mr-image
1.2.840.10008.5.1.4.1.1.4.1 enhanced-mr-image
1.2.840.10008.5.1.4.1.1.4.2 mr-spectroscopy
1.2.840.10008.5.1.4.1.1.4.3 enhanced-mr-color-image
1.2.840.10008.5.1.4.1.1.4.4 legacy-converted-enhanced-mr-image
1.2.840.10008.5.1.4.1.1.6.1 ultrasound-image
1.2.840.10008.5.1.4.1.1.6.2 enhanced-us-volume
1.2.840.10008.5.1.4.1.1.6.3 photoacoustic-image
1.2.840.10008.5.1.4.1.1.7 secondary-capture-image
1.2.840.10008.5.1.4.1.1.7.1 multi-frame-single-bit-secondary-capture-image
1.2.840.10008.5.1.4.1.1.7.2 multi-frame-grayscale-byte-secondary-capture-image
1.2.840.10008.5.1.4.1.1.7.3 multi-frame-grayscale-word-secondary-capture-image
1.2.840.10008.5.1.4.1.1.7.4 multi-frame-true-color-secondary-capture-image
1.2.840.10008.5.1.4.1.1.9.1.1 12-lead-ecg
1.2.840.10008.5.1.4.1.1.9.1.2 general-ecg
1.2.840.10008.5.1.4.1.1.9.1.3 ambulatory-ecg
1.2.840.10008.5.1.4.1.1.9.1.4 general-32-bit-ecg
1.2.840.10008.5.1.4.1.1.9.2.1 hemodynamic-waveform
1.2.840.10008.5.1.4.1.1.9.3.1 basic-cardiac-electrophysiology-waveform
1.2.840.10008.5.1.4.1.1.9.4.1 basic-voice-audio-waveform
1.2.840.10008.5.1.4.1.1.9.4.2 general-audio-waveform
1.2.840.10008.5.1.4.1.1.9.5.1 arterial-pulse-waveform
1.2.840.10008.5.1.4.1.1.9.6.1 respiratory-waveform
1.2.840.10008.5.1.4.1.1.9.6.2 multi-channel-respiratory-waveform
1.2.840.10008.5.1.4.1.1.9.7.1 routine-scalp-electroencephalogram
1.2.840.10008.5.1.4.1.1.9.7.2 electromyogram
1.2.840.10008.5.1.4.1.1.9.7.3 electrooculogram
1.2.840.10008.5.1.4.1.1.9.7.4 sleep-electroencephalogram
1.2.840.10008.5.1.4.1.1.9.8.1 body-position-waveform
1.2.840.10008.5.1.4.1.1.9.100.1 waveform-presentation-state
1.2.840.10008.5.1.4.1.1.9.100.2 waveform-acquisition-presentation-state
1.2.840.10008.5.1.4.1.1.11.1 grayscale-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.11.2 color-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.11.3 pseudo-color-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.11.4 blending-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.11.5 xa-xrf-grayscale-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.11.6 planar-mpr-volumetric-presentation-state
1.2.840.10008.5.1.4.1.1.11.7 planar-mpr-volumetric-presentation-state
1.2.840.10008.5.1.4.1.1.11.8 advanced-blending-presentation-state
1.2.840.10008.5.1.4.1.1.11.9 volume-rendering-volumetric-presentation-state
1.2.840.10008.5.1.4.1.1.11.10 volume-rendering-volumetric-presentation-state
1.2.840.10008.5.1.4.1.1.11.11 volume-rendering-volumetric-presentation-state
1.2.840.10008.5.1.4.1.1.11.12 variable-modality-lut-softcopy-presentation-state
1.2.840.10008.5.1.4.1.1.12.1 x-ray-angiographic-image
1.2.840.10008.5.1.4.1.1.12.1.1 enhanced-xa-image
1.2.840.10008.5.1.4.1.1.12.2 x-ray-radiofluoroscopic-image
1.2.840.10008.5.1.4.1.1.12.2.1 enhanced-xrf-image
1.2.840.10008.5.1.4.1.1.13.1.1 x-ray-3d-angiographic-image
1.2.840.10008.5.1.4.1.1.13.1.2 x-ray-3d-craniofacial-image
1.2.840.10008.5.1.4.1.1.13.1.3 breast-tomosynthesis-image
1.2.840.10008.5.1.4.1.1.13.1.4 breast-projection-x-ray-image
1.2.840.10008.5.1.4.1.1.13.1.5 breast-projection-x-ray-image
1.2.840.10008.5.1.4.1.1.14.1 intravascular-optical-coherence-tomography-image
1.2.840.10008.5.1.4.1.1.14.2 intravascular-optical-coherence-tomography-image
1.2.840.10008.5.1.4.1.1.20 nuclear-medicine-image
1.2.840.10008.5.1.4.1.1.30 parametric-map
1.2.840.10008.5.1.4.1.1.66 raw-data
1.2.840.10008.5.1.4.1.1.66.1 spatial-registration
1.2.840.10008.5.1.4.1.1.66.2 spatial-fiducials
1.2.840.10008.5.1.4.1.1.66.3 deformable-spatial-registration
1.2.840.10008.5.1.4.1.1.66.4 segmentation
1.2.840.10008.5.1.4.1.1.66.5 surface-segmentation
1.2.840.10008.5.1.4.1.1.66.6 tractography-results
1.2.840.10008.5.1.4.1.1.66.7 segmentation
1.2.840.10008.5.1.4.1.1.66.8 height-map-segmentation
1.2.840.10008.5.1.4.1.1.67 real-world-value-mapping
1.2.840.10008.5.1.4.1.1.68.1 surface-scan-mesh
1.2.840.10008.5.1.4.1.1.68.2 surface-scan-point-cloud
1.2.840.10008.5.1.4.1.1.77.1.1 vl-endoscopic-image
1.2.840.10008.5.1.4.1.1.77.1.1.1 video-endoscopic-image
1.2.840.10008.5.1.4.1.1.77.1.2 vl-microscopic-image
1.2.840.10008.5.1.4.1.1.77.1.2.1 video-microscopic-image
1.2.840.10008.5.1.4.1.1.77.1.3 vl-slide-coordinates-microscopic-image
1.2.840.10008.5.1.4.1.1.77.1.4 vl-photographic-image
1.2.840.10008.5.1.4.1.1.77.1.4.1 video-photographic-image
1.2.840.10008.5.1.4.1.1.77.1.5.1 ophthalmic-photography-8-bit-image
1.2.840.10008.5.1.4.1.1.77.1.5.2 ophthalmic-photography-16-bit-image
1.2.840.10008.5.1.4.1.1.77.1.5.3 stereometric-relationship
1.2.840.10008.5.1.4.1.1.77.1.5.4 ophthalmic-tomography-image
1.2.840.10008.5.1.4.1.1.77.1.5.5 wide-field-ophthalmic-photography-stereographic-projection-image
1.2.840.10008.5.1.4.1.1.77.1.5.6 wide-field-ophthalmic-photography-3d-coordinates-image
1.2.840.10008.5.1.4.1.1.77.1.5.7 ophthalmic-optical-coherence-tomography-en-face-image
1.2.840.10008.5.1.4.1.1.77.1.5.8 ophthalmic-optical-coherence-tomography-b-scan-volume-analysis
1.2.840.10008.5.1.4.1.1.77.1.6 vl-whole-slide-microscopy-image
1.2.840.10008.5.1.4.1.1.77.1.7 dermoscopic-photography-image
1.2.840.10008.5.1.4.1.1.77.1.8 confocal-microscopy-image
1.2.840.10008.5.1.4.1.1.77.1.9 confocal-microscopy-tiled-pyramidal-image
1.2.840.10008.5.1.4.1.1.78.1 lensometry-measurements
1.2.840.10008.5.1.4.1.1.78.2 autorefraction-measurements
1.2.840.10008.5.1.4.1.1.78.3 keratometry-measurements
1.2.840.10008.5.1.4.1.1.78.4 subjective-refraction-measurements
1.2.840.10008.5.1.4.1.1.78.5 visual-acuity-measurements
1.2.840.10008.5.1.4.1.1.78.6 spectacle-prescription-report
1.2.840.10008.5.1.4.1.1.78.7 ophthalmic-axial-measurements
1.2.840.10008.5.1.4.1.1.78.8 intraocular-lens-calculations
1.2.840.10008.5.1.4.1.1.79.1 macular-grid-thickness-and-volume-report
1.2.840.10008.5.1.4.1.1.80.1 ophthalmic-visual-field-static-perimetry-measurements
1.2.840.10008.5.1.4.1.1.81.1 ophthalmic-thickness-map
1.2.840.10008.5.1.4.1.1.82.1 corneal-topography-map
1.2.840.10008.5.1.4.1.1.88.11 basic-text-sr
1.2.840.10008.5.1.4.1.1.88.22 enhanced-sr
1.2.840.10008.5.1.4.1.1.88.33 comprehensive-sr
1.2.840.10008.5.1.4.1.1.88.34 comprehensive-3d-sr
1.2.840.10008.5.1.4.1.1.88.35 extensible-sr
1.2.840.10008.5.1.4.1.1.88.40 procedure-log
1.2.840.10008.5.1.4.1.1.88.50 mammography-cad-sr
1.2.840.10008.5.1.4.1.1.88.59 key-object-selection-document
1.2.840.10008.5.1.4.1.1.88.65 chest-cad-sr
1.2.840.10008.5.1.4.1.1.88.67 x-ray-radiation-dose-sr
1.2.840.10008.5.1.4.1.1.88.68 radiopharmaceutical-radiation-dose-sr
1.2.840.10008.5.1.4.1.1.88.69 colon-cad-sr
1.2.840.10008.5.1.4.1.1.88.70 implantation-plan-sr-document
1.2.840.10008.5.1.4.1.1.88.71 acquisition-context-sr
1.2.840.10008.5.1.4.1.1.88.72 simplified-adult-echo-sr
1.2.840.10008.5.1.4.1.1.88.73 patient-radiation-dose-sr
1.2.840.10008.5.1.4.1.1.88.74 planned-imaging-agent-administration-sr
1.2.840.10008.5.1.4.1.1.88.75 performed-imaging-agent-administration-sr
1.2.840.10008.5.1.4.1.1.88.76 enhanced-x-ray-radiation-dose-sr
1.2.840.10008.5.1.4.1.1.88.77 waveform-annotation-sr
1.2.840.10008.5.1.4.1.1.90.1 content-assessment-results
1.2.840.10008.5.1.4.1.1.91.1 microscopy-bulk-simple-annotations
1.2.840.10008.5.1.4.1.1.104.1 encapsulated-pdf
1.2.840.10008.5.1.4.1.1.104.2 encapsulated-cda
1.2.840.10008.5.1.4.1.1.104.3 encapsulated-stl
1.2.840.10008.5.1.4.1.1.104.4 encapsulated-obj
1.2.840.10008.5.1.4.1.1.104.5 encapsulated-mtl
1.2.840.10008.5.1.4.1.1.128 positron-emission-tomography-image
1.2.840.10008.5.1.4.1.1.128.1 legacy-converted-enhanced-pet-image
1.2.840.10008.5.1.4.1.1.130 enhanced-pet-image
1.2.840.10008.5.1.4.1.1.131 basic-structured-display
1.2.840.10008.5.1.4.1.1.200.1 ct-defined-procedure-protocol
1.2.840.10008.5.1.4.1.1.200.2 ct-performed-procedure-protocol
1.2.840.10008.5.1.4.1.1.200.3 protocol-approval
1.2.840.10008.5.1.4.1.1.200.7 xa-defined-procedure-protocol
1.2.840.10008.5.1.4.1.1.200.8 xa-performed-procedure-protocol
1.2.840.10008.5.1.4.1.1.201.1 inventory
1.2.840.10008.5.1.4.1.1.481.1 rt-image
1.2.840.10008.5.1.4.1.1.481.2 rt-dose
1.2.840.10008.5.1.4.1.1.481.3 rt-structure-set
1.2.840.10008.5.1.4.1.1.481.4 rt-beams-treatment-record
1.2.840.10008.5.1.4.1.1.481.5 rt-plan
1.2.840.10008.5.1.4.1.1.481.6 rt-brachy-treatment-record
1.2.840.10008.5.1.4.1.1.481.7 rt-treatment-summary-record
1.2.840.10008.5.1.4.1.1.481.8 rt-ion-plan
1.2.840.10008.5.1.4.1.1.481.9 rt-ion-beams-treatment-record
1.2.840.10008.5.1.4.1.1.481.10 rt-physician-intent
1.2.840.10008.5.1.4.1.1.481.11 rt-segment-annotation
1.2.840.10008.5.1.4.1.1.481.12 rt-radiation-set
1.2.840.10008.5.1.4.1.1.481.13 c-arm-photon-electron-radiation
1.2.840.10008.5.1.4.1.1.481.14 tomotherapeutic-radiation
1.2.840.10008.5.1.4.1.1.481.15 robotic-arm-radiation
1.2.840.10008.5.1.4.1.1.481.16 rt-radiation-record-set
1.2.840.10008.5.1.4.1.1.481.17 rt-radiation-salvage-record
1.2.840.10008.5.1.4.1.1.481.18 tomotherapeutic-radiation-record
1.2.840.10008.5.1.4.1.1.481.19 c-arm-photon-electron-radiation-record
1.2.840.10008.5.1.4.1.1.481.20 robotic-arm-radiation-record
1.2.840.10008.5.1.4.1.1.481.21 rt-radiation-set-delivery-instruction
1.2.840.10008.5.1.4.1.1.481.22 rt-treatment-preparation
1.2.840.10008.5.1.4.1.1.481.23 enhanced-rt-image
1.2.840.10008.5.1.4.1.1.481.24 enhanced-continuous-rt-image
1.2.840.10008.5.1.4.1.1.481.25 rt-patient-position-acquisition-instruction
1.2.840.10008.5.1.4.34.7 rt-beams-delivery-instruction
1.2.840.10008.5.1.4.34.10 rt-brachy-application-setup-delivery-instruction
1.2.840.10008.5.1.4.38.1 hanging-protocol
1.2.840.10008.5.1.4.39.1 color-palette
1.2.840.10008.5.1.4.43.1 generic-implant-template
1.2.840.10008.5.1.4.44.1 implant-assembly-template
1.2.840.10008.5.1.4.45.1 implant-template-group
"""


AttributeTypes = dict[tuple[str, ...], str]


def _module_types() -> dict[str, AttributeTypes]:
    modules: dict[str, AttributeTypes] = {}
    current: AttributeTypes = {}
    parents: list[str] = []
    for line in _MODULE_TYPES.strip().splitlines():
        if line.startswith("["):
            current = modules.setdefault(line.strip("[]"), {})
            parents = []
            continue
        depth = len(line) - len(line.lstrip(">"))
        keyword, _, kind = line[depth:].partition(" ")
        parents[depth:] = [keyword]
        if kind:
            current[tuple(parents)] = kind
    return modules


def _iod_modules() -> dict[str, tuple[str, ...]]:
    text = _IOD_MODULES.strip().replace("\n    ", " ")
    iods: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        iod, _, modules = line.partition(":")
        iods[iod] = tuple(modules.split())
    return iods


MODULE_TYPES: dict[str, AttributeTypes] = _module_types()
IOD_MODULES: dict[str, tuple[str, ...]] = _iod_modules()
SOP_CLASS_IODS: dict[str, str] = dict(line.split() for line in _SOP_CLASS_IODS.strip().splitlines())


@functools.cache
def iod_attribute_types(sop_class_uid: str) -> AttributeTypes | None:
    """Type "1" or "2" of the listed attributes (keyword paths) of the SOP Class's IOD.

    None when the SOP Class is not in the table (a private or retired class): nothing is
    known of its attributes. An attribute path missing from the result is Type 3.
    """
    iod = SOP_CLASS_IODS.get(sop_class_uid.strip())
    if iod is None:
        return None
    types: AttributeTypes = {}
    for module in IOD_MODULES.get(iod, ()):
        for path, kind in MODULE_TYPES.get(module, {}).items():
            if types.get(path) != "1":
                types[path] = kind
    return types
