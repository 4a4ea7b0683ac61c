; Inno Setup script: Windows installer for the TPI Chart desktop bundle (dist\tpi-chart\).
; Built by .github/workflows/release.yml:  ISCC.exe /DAppVersion=0.2.0 packaging\windows\tpi-chart.iss
; Not run in this project's CI (no Windows machine): see packaging/README.md.
; Per-user install (no administrator rights); uninstalling removes the app, never the data.

#ifndef AppVersion
  #define AppVersion "0.2.0"
#endif

[Setup]
AppId={{6F0C2F4A-3B7E-4C55-9E43-2D1A7B9C8E10}
AppName=TPI Chart
AppVersion={#AppVersion}
AppPublisher=TPI Chart
DefaultDirName={localappdata}\Programs\TPI Chart
DefaultGroupName=TPI Chart
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=tpi-chart-{#AppVersion}-setup
SetupIconFile=..\icons\tpi-chart.ico
UninstallDisplayIcon={app}\tpi-chart-window.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible

[Files]
Source: "..\..\dist\tpi-chart\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\TPI Chart"; Filename: "{app}\tpi-chart-window.exe"
Name: "{group}\Check this computer (TPI Chart doctor)"; Filename: "{cmd}"; Parameters: "/k ""{app}\tpi-chart.exe"" doctor"
Name: "{userdesktop}\TPI Chart"; Filename: "{app}\tpi-chart-window.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\tpi-chart-window.exe"; Description: "Start TPI Chart"; Flags: nowait postinstall skipifsilent

[Messages]
; The uninstaller removes only the program files ({app}); say where the data stays.
UninstalledAll=TPI Chart was removed. Your data was kept: the database in %LOCALAPPDATA%\tpi-chart, the audit key and clinic folder in %LOCALAPPDATA%\tpi-chart (config), and exported notes in the export folder chosen in Settings.
