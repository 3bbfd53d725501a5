"""The plugin loader: verifies an image and instantiates its plugin, or refuses it.

Models the shell-side loader NPA runs on LOAD_PLUGIN: the image arrives in
guest memory at an address the shell chose; the loader checks it (format,
CRCs, ABI, that it serves this VF's vendor/device, that every shell->plugin
entry point is present, that the implementation is one it knows) and only
then creates the plugin. A refused image leaves whatever was loaded before
untouched, so there is never a half-loaded plugin; every refusal is counted
by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tb.plugin_model.image import (
    DeviceMismatchError,
    MissingEntryPointError,
    PluginImage,
    PluginImageError,
    UnknownPluginError,
)
from tb.plugin_model.plugin import Plugin
from tb.shell_model.rings import GuestMemoryLike

PluginFactory = Callable[[PluginImage], Plugin]


class PluginLoadError(RuntimeError):
    """The image was valid but its plugin could not be created; ``reason`` 'factory'."""

    reason = "factory"


@dataclass(frozen=True)
class LoadedPlugin:
    """A verified image and the plugin made from it."""

    image: PluginImage
    plugin: Plugin


class PluginLoader:
    """Loads plugin images for one device (vendor/device ID) from a set of known factories."""

    def __init__(
        self, vendor_id: int, device_id: int, factories: Mapping[str, PluginFactory]
    ) -> None:
        self.vendor_id = vendor_id
        self.device_id = device_id
        self._factories = dict(factories)
        self.loaded: LoadedPlugin | None = None
        self.refusals: Counter[str] = Counter()
        self.loads = 0

    def load(self, raw: bytes) -> LoadedPlugin:
        try:
            image = PluginImage.parse(raw)
            self._check(image)
            factory = self._factories[image.plugin_id]
        except PluginImageError as exc:
            self.refusals[exc.reason] += 1
            raise
        try:
            plugin = factory(image)
        except Exception as exc:
            self.refusals[PluginLoadError.reason] += 1
            raise PluginLoadError(f"plugin {image.plugin_id!r} failed to start: {exc}") from exc
        self.loaded = LoadedPlugin(image, plugin)
        self.loads += 1
        return self.loaded

    def load_from_guest(self, mem: GuestMemoryLike, gpa: int, length: int) -> LoadedPlugin:
        """Load the image the hypervisor injected at ``gpa`` (LOAD_PLUGIN)."""
        return self.load(mem.read(gpa, length))

    def unload(self) -> None:
        self.loaded = None

    def _check(self, image: PluginImage) -> None:
        if (image.vendor_id, image.device_id) != (self.vendor_id, self.device_id):
            raise DeviceMismatchError(
                f"plugin serves {image.vendor_id:04x}:{image.device_id:04x}, "
                f"this VF is {self.vendor_id:04x}:{self.device_id:04x}"
            )
        names = {e.name for e in image.entries}
        missing = [n for n in Plugin.ENTRY_POINTS if n not in names]
        if missing:
            raise MissingEntryPointError(f"image lacks entry points {', '.join(missing)}")
        if image.plugin_id not in self._factories:
            raise UnknownPluginError(
                f"no implementation {image.plugin_id!r} (known: {sorted(self._factories)})"
            )
