"""The encrypted-volume check reads the mount table and the device-mapper uuids (issue 11 §7)."""

from __future__ import annotations

from pathlib import Path

from tpi_chart.services.disk_encryption import volume_encryption


def fake_system(
    tmp_path: Path, device: str, uuid: str | None, slave_uuid: str | None = None
) -> tuple[Path, Path]:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        f"proc /proc proc rw 0 0\n{device} /home ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n"
    )
    block = tmp_path / "block"
    name = Path(device).name
    (block / name / "slaves").mkdir(parents=True)
    if uuid is not None:
        (block / name / "dm").mkdir()
        (block / name / "dm" / "uuid").write_text(uuid + "\n")
    if slave_uuid is not None:
        (block / name / "slaves" / "dm-0").mkdir()
        (block / "dm-0" / "dm").mkdir(parents=True)
        (block / "dm-0" / "dm" / "uuid").write_text(slave_uuid)
    return mounts, block


def test_a_luks_mapping_is_encrypted(tmp_path: Path) -> None:
    mounts, block = fake_system(tmp_path, "/dev/dm-0", "CRYPT-LUKS2-abc-luks")
    status = volume_encryption(
        Path("/home/clinic/data"), platform="linux", mounts_file=mounts, sys_block=block
    )
    assert status.encrypted is True
    assert status.warning() is None


def test_lvm_on_luks_is_encrypted(tmp_path: Path) -> None:
    mounts, block = fake_system(tmp_path, "/dev/dm-1", "LVM-xyz", slave_uuid="CRYPT-LUKS2-abc")
    status = volume_encryption(
        Path("/home/x"), platform="linux", mounts_file=mounts, sys_block=block
    )
    assert status.encrypted is True


def test_a_plain_partition_is_not_and_the_warning_says_what_to_do(tmp_path: Path) -> None:
    mounts, block = fake_system(tmp_path, "/dev/sda2", None)
    status = volume_encryption(
        Path("/home/x"), platform="linux", mounts_file=mounts, sys_block=block
    )
    assert status.encrypted is False
    warning = status.warning()
    assert warning is not None
    assert "not on an encrypted disk" in warning
    assert "/dev/sda2" in warning


def test_unknown_systems_say_they_cannot_tell(tmp_path: Path) -> None:
    mounts, block = fake_system(tmp_path, "/dev/sda2", None)
    assert (
        volume_encryption(
            Path("/run/x"), platform="linux", mounts_file=mounts, sys_block=block
        ).encrypted
        is None
    )
    assert volume_encryption(Path("C:/data"), platform="win32").encrypted is None
