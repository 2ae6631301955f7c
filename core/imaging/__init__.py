"""Images: rendering to display pixels (``render``), the viewer core (``viewer``) and the
thumbnail cache (``thumbnails``)."""
