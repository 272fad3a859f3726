"""Models: the architecture registry (registry, plain data: name -> builder, defaults, Grad-CAM layer), encoders
(torchvision backbones, EfficientNet-Lite with ImageNet weights), decoders and layers, the self-describing model
file (modelfile), imported weights (importer), ONNX both ways (onnx_interop) and STAC items (stac)."""
