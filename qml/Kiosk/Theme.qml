pragma Singleton
import QtQuick

// Every size, colour and font of the kiosk. Sizes are logical pixels times `scale`, which the
// window sets from the screen's physical density (`scaleFor`): a touch target keeps its size
// under the finger on every screen, and a bigger screen shows more rows, not bigger ones.
QtObject {
    property bool dark: true
    property real scale: 1.0

    // 1.0 at 96 dots per inch (and where the screen does not say, or says nonsense), more on
    // denser screens, at most 3.0.
    readonly property real referenceDpi: 96
    function scaleFor(dotsPerInch) {
        if (!(dotsPerInch >= 50 && dotsPerInch <= 800))
            return 1.0
        return Math.max(1.0, Math.min(3.0, dotsPerInch / referenceDpi))
    }

    readonly property int spacing: Math.round(8 * scale)
    readonly property int touch: Math.round(48 * scale)        // minimum touch target
    readonly property int primary: Math.round(60 * scale)      // primary actions
    readonly property int rowHeight: Math.round(48 * scale)
    readonly property int radius: Math.round(6 * scale)
    readonly property int border: Math.max(1, Math.round(scale))
    readonly property int columnUnit: Math.round(52 * scale)
    readonly property int thumbSize: Math.round(132 * scale)
    readonly property int sidePanel: Math.round(340 * scale)
    readonly property int dialogWidth: Math.round(560 * scale)
    readonly property int infoHeight: Math.round(28 * scale)
    // The database levels: the width the study table needs (its columns' weights, 14, times
    // columnUnit) and the least height of a level panel (its bar, header and three rows).
    readonly property int studyTableWidth: 14 * columnUnit
    readonly property int levelPanelMinHeight: touch + spacing + touch + 3 * rowHeight

    readonly property string fontFamily: "DejaVu Sans"
    readonly property int fontSmall: Math.round(13 * scale)
    readonly property int fontNormal: Math.round(15 * scale)
    readonly property int fontLarge: Math.round(18 * scale)
    readonly property int fontTitle: Math.round(26 * scale)

    readonly property color background: dark ? "#16181c" : "#f3f4f6"
    readonly property color surface: dark ? "#1f2228" : "#ffffff"
    readonly property color surfaceAlt: dark ? "#252932" : "#f7f8fa"
    readonly property color header: dark ? "#2b303a" : "#e6e9ee"
    readonly property color buttonFill: dark ? "#323844" : "#e3e7ed"
    readonly property color buttonPressed: dark ? "#4a5364" : "#c9d0da"
    readonly property color borderColor: dark ? "#3a404c" : "#cfd5dd"
    readonly property color text: dark ? "#e8eaed" : "#1d2127"
    readonly property color textDim: dark ? "#9aa3ae" : "#5c6570"
    readonly property color accent: dark ? "#4da3ff" : "#1565c0"
    readonly property color accentPressed: dark ? "#2f7fd6" : "#0d47a1"
    readonly property color accentText: "#ffffff"
    readonly property color selected: dark ? "#1f4d7a" : "#cfe3fa"
    readonly property color current: dark ? "#2a6bb0" : "#a9cdf5"
    readonly property color ok: dark ? "#5cc26b" : "#2e7d32"
    readonly property color danger: dark ? "#e05252" : "#c62828"
    readonly property color dangerPressed: dark ? "#b53b3b" : "#8e1c1c"
    readonly property color toastBackground: dark ? "#eceff3" : "#2b303a"
    readonly property color toastText: dark ? "#16181c" : "#ffffff"
    readonly property color viewerBackground: "#000000"
    readonly property color viewerText: "#e8eaed"
    readonly property color overlay: dark ? "#cc000000" : "#99000000"

    // Transfer states; always shown with their name as well, never by colour alone.
    readonly property color statusOk: dark ? "#4caf6e" : "#2e7d32"
    readonly property color statusActive: accent
    readonly property color statusWaiting: dark ? "#9aa3ae" : "#6b7480"
    readonly property color statusWarning: dark ? "#e0a030" : "#b26a00"
    readonly property color statusError: danger
    readonly property int progressHeight: Math.round(6 * scale)
    readonly property int badgeHeight: Math.round(26 * scale)
    function toneColor(tone) {
        switch (tone) {
        case "ok": return statusOk
        case "active": return statusActive
        case "warning": return statusWarning
        case "error": return statusError
        default: return statusWaiting
        }
    }
}
