<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
  <context>
    <name>BuildSeg</name>
    <message>
      <source>Extraction</source>
      <translation>提取</translation>
    </message>
    <message>
      <source>Training</source>
      <translation>训练</translation>
    </message>
    <message>
      <source>Analysis</source>
      <translation>分析</translation>
    </message>
    <message>
      <source>Tools</source>
      <translation>工具</translation>
    </message>
    <message>
      <source>Tile size (px, 0: the model's)</source>
      <translation>瓦片大小（像素，0：使用模型的设置）</translation>
    </message>
    <message>
      <source>Tile overlap (px)</source>
      <translation>瓦片重叠（像素）</translation>
    </message>
    <message>
      <source>Batch size (0: auto)</source>
      <translation>批大小（0：自动）</translation>
    </message>
    <message>
      <source>Device</source>
      <translation>设备</translation>
    </message>
    <message>
      <source>Output CRS for a web or non-file layer (empty: the layer's, or UTM for geographic layers)</source>
      <translation>网络图层或非文件图层的输出坐标系（留空：图层自身的坐标系，地理坐标系时使用 UTM）</translation>
    </message>
    <message>
      <source>Check / install dependencies</source>
      <translation>检查 / 安装依赖</translation>
    </message>
    <message>
      <source>Reports the Python packages BuildSeg needs (torch, torchvision, onnxruntime, onnx, safetensors, OpenCV, scikit-image, pydensecrf2, plus numpy, GDAL and rasterio from QGIS) with their versions, and the device that will be used (CUDA GPU name and memory, or CPU threads).

&lt;b&gt;Install missing packages&lt;/b&gt;: runs pip to install the pinned versions of the plugin's requirements.txt into a private folder BuildSeg adds to Python's path (see README), streaming pip's output here. A CUDA build of torch is chosen when nvidia-smi finds an NVIDIA GPU, else the CPU build. Restart QGIS afterwards.

&lt;b&gt;Report&lt;/b&gt;: optional JSON file with the same information.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Install missing packages</source>
      <translation>安装缺失的软件包</translation>
    </message>
    <message>
      <source>Report</source>
      <translation>报告</translation>
    </message>
    <message>
      <source>Report text</source>
      <translation>报告文本</translation>
    </message>
    <message>
      <source>Evaluate building extraction</source>
      <translation>评估建筑物提取精度</translation>
    </message>
    <message>
      <source>Measures how good an extraction is against reference buildings.

Prediction: a &lt;b&gt;mask raster&lt;/b&gt; (e.g. the building mask of 'Extract buildings'; pixels equal to the &lt;b&gt;class id&lt;/b&gt; are buildings, 255 is nodata) or &lt;b&gt;predicted polygons&lt;/b&gt;. Reference: &lt;b&gt;reference polygons&lt;/b&gt; or a &lt;b&gt;reference raster&lt;/b&gt; of class ids. &lt;b&gt;Area&lt;/b&gt;: optional polygons outside which nothing counts.
Pixel metrics: building IoU, F1 (Dice), precision, recall, accuracy, background and mean IoU, from one confusion matrix over the whole area, or also averaged over 512 px tiles (&lt;b&gt;per-tile&lt;/b&gt;). Polygon vs polygon is compared on a grid of &lt;b&gt;pixel size&lt;/b&gt; map units.
Building metrics (the SpaceNet metric): predicted and reference buildings matched one to one at IoU &gt;= the &lt;b&gt;IoU threshold&lt;/b&gt; (0.5): TP, FP, FN, precision, recall, F1, and the count error.

Outputs: a table (.csv, or .html) and a layer of matched (TP), false (FP) and missed (FN) buildings with their IoU, styled in three colours.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Predicted mask raster</source>
      <translation>预测掩膜栅格</translation>
    </message>
    <message>
      <source>Predicted polygons (instead of a mask)</source>
      <translation>预测多边形（代替掩膜）</translation>
    </message>
    <message>
      <source>Reference polygons</source>
      <translation>参考多边形</translation>
    </message>
    <message>
      <source>Reference raster (instead of polygons)</source>
      <translation>参考栅格（代替多边形）</translation>
    </message>
    <message>
      <source>Area evaluated</source>
      <translation>评估区域</translation>
    </message>
    <message>
      <source>Building class id in rasters</source>
      <translation>栅格中的建筑物类别编号</translation>
    </message>
    <message>
      <source>Building match IoU threshold</source>
      <translation>建筑物匹配 IoU 阈值</translation>
    </message>
    <message>
      <source>Also average IoU per tile</source>
      <translation>同时计算每个瓦片的平均 IoU</translation>
    </message>
    <message>
      <source>Pixel size (polygons only)</source>
      <translation>像素大小（仅用于多边形）</translation>
    </message>
    <message>
      <source>Metrics table</source>
      <translation>指标表</translation>
    </message>
    <message>
      <source>TP / FP / FN buildings</source>
      <translation>TP / FP / FN 建筑物</translation>
    </message>
    <message>
      <source>Export heatmap</source>
      <translation>导出热力图</translation>
    </message>
    <message>
      <source>Shows why the model calls something a building, and where it is unsure, as a float32 raster on the input grid (-9999 = nodata), computed tile by tile and blended like extraction (no seams).

&lt;b&gt;Mode&lt;/b&gt;: &lt;i&gt;probability&lt;/i&gt; of the target class (0..1); &lt;i&gt;gradcam&lt;/i&gt; / &lt;i&gt;gradcam++&lt;/i&gt;: Grad-CAM (Grad-CAM++) of the target class over the segmentation output at the chosen layer, normalised once for the whole scene (0..1); &lt;i&gt;entropy&lt;/i&gt;: predictive entropy normalised to 0..1, the map of where to label next; &lt;i&gt;tta-variance&lt;/i&gt;: variance of the target-class probability over the 8 flips/rotations; &lt;i&gt;features&lt;/i&gt;: mean activation of a layer (or of the listed channels), upsampled to the input grid.
&lt;b&gt;Target class&lt;/b&gt;: a class name or id of the model (default: building).
&lt;b&gt;Layer&lt;/b&gt; (Grad-CAM and features): a module name of the model; empty = a sensible default per architecture: unet / resunet / unet-mobilenet 'decoder.blocks.2', deeplabv3(+) 'aspp', pspnet and denseaspp 'encoder.layers.3', fcn* 'stages.4', segnet 'enc.4', refinenet 'blocks.3', mffnet 'branches.3', pfnet 'smooth.0'. Others: 'encoder.layers.0..3' (ResNet encoders), 'encoder.stages.0..4' (MobileNetV2), 'decoder.blocks.0..3', 'final'. A wrong name lists the model's layers.
&lt;b&gt;Channels&lt;/b&gt; (features): e.g. '0,5,12'; empty = all.
Tile size, overlap, batch size and device as in 'Extract buildings'. Grad-CAM runs through PyTorch (it needs gradients).

&lt;b&gt;Quick-look&lt;/b&gt;: optional PNG of the heatmap over the image, for reports.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Input raster</source>
      <translation>输入栅格</translation>
    </message>
    <message>
      <source>Model file (empty: bundled default model)</source>
      <translation>模型文件（留空：内置默认模型）</translation>
    </message>
    <message>
      <source>Area of interest</source>
      <translation>感兴趣区域</translation>
    </message>
    <message>
      <source>Mode</source>
      <translation>模式</translation>
    </message>
    <message>
      <source>Target class</source>
      <translation>目标类别</translation>
    </message>
    <message>
      <source>Layer (empty: default)</source>
      <translation>网络层（留空：默认）</translation>
    </message>
    <message>
      <source>Channels (features mode)</source>
      <translation>通道（特征模式）</translation>
    </message>
    <message>
      <source>Heatmap</source>
      <translation>热力图</translation>
    </message>
    <message>
      <source>Quick-look PNG</source>
      <translation>快速预览 PNG</translation>
    </message>
    <message>
      <source>Export kernels and weight statistics</source>
      <translation>导出卷积核与权重统计</translation>
    </message>
    <message>
      <source>Inspects a model's weights.

&lt;b&gt;Model file&lt;/b&gt;: a BuildSeg model; empty = the bundled model.
&lt;b&gt;Kernel sheet&lt;/b&gt;: PNG grid of the first convolution's kernels (first three input bands shown as RGB, each kernel stretched on its own): edge, colour and texture detectors in a trained model, noise in an untrained one.
&lt;b&gt;Weight statistics&lt;/b&gt;: CSV with one row per parameter tensor: layer, shape, count, mean, std, min, max and the share of near-zero weights (|w| &lt; 0.001).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Kernel sheet</source>
      <translation>卷积核图</translation>
    </message>
    <message>
      <source>Weight statistics</source>
      <translation>权重统计</translation>
    </message>
    <message>
      <source>Export model to ONNX</source>
      <translation>导出模型为 ONNX</translation>
    </message>
    <message>
      <source>Writes a BuildSeg model as an ONNX file that other tools (ONNX Runtime, Deepness, OpenCV DNN…) can run.

&lt;b&gt;Model file&lt;/b&gt;: a BuildSeg .safetensors model; empty = the bundled default model.
&lt;b&gt;ONNX file&lt;/b&gt;: the output. Its input 'image' is float32 (batch, bands, height, width) normalised with the per-band mean and std of the model (height and width are dynamic, multiples of 32 work for every architecture); its output 'probabilities' is (batch, classes, height, width) after softmax. The full BuildSeg metadata (bands, normalisation, classes, tile size, resolution, metrics) is stored as the ONNX metadata property 'buildseg' (JSON).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>ONNX file</source>
      <translation>ONNX 文件</translation>
    </message>
    <message>
      <source>Extract buildings</source>
      <translation>提取建筑物</translation>
    </message>
    <message>
      <source>Finds buildings in a raster with a deep-learning model and returns them as layers.

&lt;b&gt;Input raster&lt;/b&gt;: any GDAL raster (GeoTIFF, JPEG2000, VRT; 8/16-bit or float; 1..N bands) in a projected or geographic CRS.
&lt;b&gt;Model&lt;/b&gt;: a BuildSeg .safetensors model file; empty = the bundled default model (RGB, 1 m).
&lt;b&gt;Bands&lt;/b&gt;: raster bands fed to the model, in order; empty = the model's own band list.
&lt;b&gt;Area of interest&lt;/b&gt;: optional polygons; only tiles touching them are processed and results are clipped to them.
Advanced: &lt;b&gt;tile size&lt;/b&gt; (0 = the model's, typical 256-1024 px), &lt;b&gt;overlap&lt;/b&gt; between tiles (px, blended smoothly: no seams; 0 is fastest), &lt;b&gt;batch size&lt;/b&gt; (0 = 1 on CPU, 8 on CUDA), &lt;b&gt;device&lt;/b&gt; (auto/cpu/cuda), &lt;b&gt;backend&lt;/b&gt; (auto = ONNX Runtime on CPU, PyTorch on CUDA; onnxruntime-int8 = static INT8 quantization calibrated on tiles of the input, about 1.5x faster on CPU at a small accuracy cost: see README), &lt;b&gt;threshold&lt;/b&gt; on the building probability (0.5), &lt;b&gt;test-time augmentation&lt;/b&gt; (none / flips = 3x time / d4 = 8x time), &lt;b&gt;minimum building area&lt;/b&gt; in m² (smaller polygons and holes are dropped), &lt;b&gt;simplification tolerance&lt;/b&gt; in map units (0 = exact pixel edges), &lt;b&gt;fill holes&lt;/b&gt;, &lt;b&gt;separate touching buildings&lt;/b&gt; (a watershed on the distance to each blob's edge splits buildings joined by a narrow waist), &lt;b&gt;regularize footprints&lt;/b&gt; (as 'Regularize building footprints', tolerance one pixel).

Outputs (each optional): &lt;b&gt;building mask&lt;/b&gt; (uint8 GeoTIFF on the input grid: class id, 255 = nodata), &lt;b&gt;building probability&lt;/b&gt; (float32 0..1, -1 = nodata; or uint8 0..254, 255 = nodata), &lt;b&gt;building polygons&lt;/b&gt; with fields id, area_m2, perimeter_m, confidence (mean probability inside) and class.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Bands fed to the model (empty: the model's)</source>
      <translation>输入模型的波段（留空：使用模型的设置）</translation>
    </message>
    <message>
      <source>Building mask</source>
      <translation>建筑物掩膜</translation>
    </message>
    <message>
      <source>Building probability</source>
      <translation>建筑物概率</translation>
    </message>
    <message>
      <source>Buildings</source>
      <translation>建筑物</translation>
    </message>
    <message>
      <source>Inference backend</source>
      <translation>推理后端</translation>
    </message>
    <message>
      <source>Building probability threshold</source>
      <translation>建筑物概率阈值</translation>
    </message>
    <message>
      <source>Test-time augmentation</source>
      <translation>测试时增强</translation>
    </message>
    <message>
      <source>Minimum building area (m²)</source>
      <translation>最小建筑物面积（平方米）</translation>
    </message>
    <message>
      <source>Simplification tolerance (map units)</source>
      <translation>简化容差（地图单位）</translation>
    </message>
    <message>
      <source>Fill holes in buildings</source>
      <translation>填充建筑物中的孔洞</translation>
    </message>
    <message>
      <source>Separate touching buildings</source>
      <translation>分离相接的建筑物</translation>
    </message>
    <message>
      <source>Regularize footprints</source>
      <translation>规则化轮廓</translation>
    </message>
    <message>
      <source>Probability as uint8 (0..254)</source>
      <translation>概率输出为 uint8（0..254）</translation>
    </message>
    <message>
      <source>Extract buildings from a folder</source>
      <translation>从文件夹提取建筑物</translation>
    </message>
    <message>
      <source>Runs 'Extract buildings' on every raster of a folder with one model load, writing for each raster &lt;i&gt;name&lt;/i&gt;_mask.tif, &lt;i&gt;name&lt;/i&gt;_probability.tif and &lt;i&gt;name&lt;/i&gt;_buildings.gpkg into the output folder.

&lt;b&gt;Input folder&lt;/b&gt;: the folder to scan (not its subfolders).
&lt;b&gt;File patterns&lt;/b&gt;: semicolon-separated, e.g. *.tif;*.jp2 (default *.tif;*.tiff;*.jp2;*.vrt).
&lt;b&gt;Model&lt;/b&gt; and the advanced options are those of 'Extract buildings'. A raster that fails (wrong bands, no CRS...) is reported and skipped; the others still run. For a batch of layers instead of a folder, use 'Extract buildings' &gt; Run as Batch Process: the model is loaded once for the whole batch too.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Input folder</source>
      <translation>输入文件夹</translation>
    </message>
    <message>
      <source>File patterns</source>
      <translation>文件匹配模式</translation>
    </message>
    <message>
      <source>Model file (empty: default model)</source>
      <translation>模型文件（留空：默认模型）</translation>
    </message>
    <message>
      <source>Output folder</source>
      <translation>输出文件夹</translation>
    </message>
    <message>
      <source>Prepare training tiles</source>
      <translation>准备训练瓦片</translation>
    </message>
    <message>
      <source>Cuts rasters and building polygons into tile files, for users who want a dataset on disk (to share, inspect or train elsewhere). 'Train building model' reads the result as a folder dataset.

&lt;b&gt;Input rasters&lt;/b&gt; and &lt;b&gt;labelled buildings&lt;/b&gt; (polygons, any CRS) with an optional &lt;b&gt;labelled area&lt;/b&gt; (outside it mask pixels are 255 = ignore).
&lt;b&gt;Tile size&lt;/b&gt; in pixels; &lt;b&gt;mode&lt;/b&gt;: 'stride' cuts a regular grid with the given &lt;b&gt;stride&lt;/b&gt; (= tile size: no overlap), 'random' cuts &lt;b&gt;count&lt;/b&gt; random windows per raster.
&lt;b&gt;Split&lt;/b&gt;: train,val,test ratios such as '0.8,0.1,0.1' (tiles are assigned at random with the &lt;b&gt;seed&lt;/b&gt;; with stride = tile size no pixel is in two splits).

Output folder: train/, val/ and test/, each with images/ (GeoTIFF tiles with the raster's bands) and masks/ (uint8 class ids: 0 background, 1 building, 255 ignore), georeferenced. Tiles that are more than half nodata or unlabelled are skipped.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Input rasters</source>
      <translation>输入栅格</translation>
    </message>
    <message>
      <source>Labelled buildings (polygons)</source>
      <translation>已标注的建筑物（多边形）</translation>
    </message>
    <message>
      <source>Labelled area</source>
      <translation>已标注区域</translation>
    </message>
    <message>
      <source>Tile size (px)</source>
      <translation>瓦片大小（像素）</translation>
    </message>
    <message>
      <source>Stride (px, stride mode)</source>
      <translation>步长（像素，步长模式）</translation>
    </message>
    <message>
      <source>Tiles per raster (random mode)</source>
      <translation>每个栅格的瓦片数（随机模式）</translation>
    </message>
    <message>
      <source>Split ratios train,val,test</source>
      <translation>划分比例 训练,验证,测试</translation>
    </message>
    <message>
      <source>Random seed</source>
      <translation>随机种子</translation>
    </message>
    <message>
      <source>Regularize building footprints</source>
      <translation>规则化建筑物轮廓</translation>
    </message>
    <message>
      <source>Turns jagged footprints (such as polygons traced from a mask) into map-ready ones; attributes are kept, the input layer is not changed.

For every polygon: stair-steps are removed (simplification by the &lt;b&gt;tolerance&lt;/b&gt;, map units, typically the pixel size); the building's dominant direction is found from its edges; if the rectangle along that direction covers the shape well (IoU &gt;= &lt;b&gt;rectangle IoU&lt;/b&gt;, 0.85) the rectangle is used; otherwise every edge within the &lt;b&gt;angle tolerance&lt;/b&gt; (degrees) of the dominant direction or its perpendicular is squared; shapes with other edges (curved, irregular), or that squaring would move by more than twice the tolerance, keep their simplified outline.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Building polygons</source>
      <translation>建筑物多边形</translation>
    </message>
    <message>
      <source>Tolerance (map units)</source>
      <translation>容差（地图单位）</translation>
    </message>
    <message>
      <source>Angle tolerance (degrees)</source>
      <translation>角度容差（度）</translation>
    </message>
    <message>
      <source>Rectangle IoU</source>
      <translation>矩形 IoU</translation>
    </message>
    <message>
      <source>Regularized buildings</source>
      <translation>规则化后的建筑物</translation>
    </message>
    <message>
      <source>Train building model</source>
      <translation>训练建筑物模型</translation>
    </message>
    <message>
      <source>Trains (or fine-tunes) a building segmentation model from your own imagery and labels, straight from QGIS layers: no tile folders to prepare.

&lt;b&gt;Input rasters&lt;/b&gt;: one or more rasters with the same bands.
&lt;b&gt;Labelled buildings&lt;/b&gt;: polygons of buildings (any CRS: reprojected). With a &lt;b&gt;class field&lt;/b&gt; every distinct value becomes a class (e.g. building / road / water); without, all polygons are 'building'.
&lt;b&gt;Labelled area&lt;/b&gt;: optional polygons where labelling is complete; pixels outside are ignored, not taken as background.
&lt;b&gt;Label raster&lt;/b&gt;: instead of polygons, a raster of class ids on the grid of the first input raster, or a colour-coded mask with a &lt;b&gt;palette&lt;/b&gt; such as '#3c1098=1;#8429f6=2' (unlisted colours are ignored).
&lt;b&gt;Validation fraction&lt;/b&gt;: share held out for validation, spatially separated (whole rasters when there are 5 or more, else a strip of each raster); or a &lt;b&gt;validation area&lt;/b&gt; polygon layer: labels inside it are used only for validation, never for training.
&lt;b&gt;Architecture&lt;/b&gt; from the model registry (default unet-mobilenet, the bundled model's); &lt;b&gt;starting model&lt;/b&gt;: fine-tune an existing model file (bands and classes must match); when empty, the bundled model is fine-tuned if architecture, band count and classes fit, unless &lt;b&gt;train from scratch&lt;/b&gt; is ticked.
Training: tile size (px, typical 256-512), epochs, tiles per epoch, batch size, learning rate (1e-3 for AdamW), loss (CE+Dice, CE, Dice, focal), class weights ('1,3'), optimizer, schedule, warm-up epochs, augmentation (flips, 90° rotations, scale, brightness/contrast), early-stopping patience (0 = off), device, seed, resume from the checkpoint left by a cancelled or crashed run.

Outputs: the &lt;b&gt;model file&lt;/b&gt; (.safetensors, self-describing: architecture, bands, normalisation, classes, tile size, resolution, metrics), an HTML &lt;b&gt;training report&lt;/b&gt; with curves and validation tiles, and a CSV of per-epoch metrics. Cancel keeps the best model so far.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Class field (empty: all polygons are buildings)</source>
      <translation>类别字段（留空：所有多边形均为建筑物）</translation>
    </message>
    <message>
      <source>Labelled area (outside it pixels are ignored)</source>
      <translation>已标注区域（区域外的像素被忽略）</translation>
    </message>
    <message>
      <source>Label raster (instead of polygons)</source>
      <translation>标签栅格（代替多边形）</translation>
    </message>
    <message>
      <source>Folder dataset (images/ + masks/) instead of layers</source>
      <translation>文件夹数据集（images/ + masks/），代替图层</translation>
    </message>
    <message>
      <source>Colour palette of a colour-coded label raster ('#rrggbb=id;…')</source>
      <translation>颜色编码标签栅格的调色板（'#rrggbb=编号;…'）</translation>
    </message>
    <message>
      <source>Validation fraction</source>
      <translation>验证集比例</translation>
    </message>
    <message>
      <source>Validation area (instead of the fraction)</source>
      <translation>验证区域（代替比例）</translation>
    </message>
    <message>
      <source>Architecture</source>
      <translation>网络结构</translation>
    </message>
    <message>
      <source>Starting model to fine-tune (empty: the bundled model when it fits)</source>
      <translation>用于微调的初始模型（留空：适用时使用内置模型）</translation>
    </message>
    <message>
      <source>Train from scratch (do not start from the bundled model)</source>
      <translation>从头训练（不从内置模型开始）</translation>
    </message>
    <message>
      <source>Model file</source>
      <translation>模型文件</translation>
    </message>
    <message>
      <source>Training report</source>
      <translation>训练报告</translation>
    </message>
    <message>
      <source>Per-epoch metrics</source>
      <translation>每轮指标</translation>
    </message>
    <message>
      <source>Loss</source>
      <translation>损失函数</translation>
    </message>
    <message>
      <source>Class weights ('1,3'; empty: equal)</source>
      <translation>类别权重（'1,3'；留空：相等）</translation>
    </message>
    <message>
      <source>Optimizer</source>
      <translation>优化器</translation>
    </message>
    <message>
      <source>Learning-rate schedule</source>
      <translation>学习率调度</translation>
    </message>
    <message>
      <source>Warm-up epochs</source>
      <translation>预热轮数</translation>
    </message>
    <message>
      <source>Augmentation</source>
      <translation>数据增强</translation>
    </message>
    <message>
      <source>Early-stopping patience (epochs, 0: off)</source>
      <translation>早停耐心值（轮数，0：关闭）</translation>
    </message>
    <message>
      <source>Resume from the checkpoint if one exists</source>
      <translation>如存在检查点则从检查点继续</translation>
    </message>
    <message>
      <source>Extent for web and other non-file layers (empty: area of interest)</source>
      <translation>网络图层及其他非文件图层的范围（留空：感兴趣区域）</translation>
    </message>
    <message>
      <source>Dask worker processes (0: no Dask)</source>
      <translation>Dask 工作进程数（0：不使用 Dask）</translation>
    </message>
    <message>
      <source>Dask scheduler address (tcp://host:8786)</source>
      <translation>Dask 调度器地址（tcp://host:8786）</translation>
    </message>
    <message>
      <source>Block size for Dask (px)</source>
      <translation>Dask 分块大小（像素）</translation>
    </message>
    <message>
      <source>Generate pseudo-masks from weak labels</source>
      <translation>由弱标注生成伪掩膜</translation>
    </message>
    <message>
      <source>Turns coarse labels into pixel labels good enough to train on (CAM, AdvCAM, IRN and dense CRF, after Fang &amp; Zheng 2022).

&lt;b&gt;Input raster&lt;/b&gt;: the imagery.
&lt;b&gt;Weak labels&lt;/b&gt;: a point layer (a point on each building), a polygon layer of rough boxes around buildings, or a polygon layer of areas tagged in a field (&lt;b&gt;tag field&lt;/b&gt;: yes/no, true/false, 1/0). Points and boxes are taken as complete: tiles without any are background.
&lt;b&gt;Tile size&lt;/b&gt; of the tile classifier (256; smaller gives more tiles without buildings to learn from), its &lt;b&gt;backbone&lt;/b&gt; (ResNet-50 with global pooling; ResNet-18 is 3x faster) and &lt;b&gt;epochs&lt;/b&gt;. Advanced: &lt;b&gt;AdvCAM iterations&lt;/b&gt; (8) and &lt;b&gt;step&lt;/b&gt; (0.08), the &lt;b&gt;CAM threshold&lt;/b&gt; (0.3), the &lt;b&gt;foreground / background confidence&lt;/b&gt; of the refined map (0.7 / 0.3: in between is 'ignore'), &lt;b&gt;CRF iterations&lt;/b&gt;, &lt;b&gt;device&lt;/b&gt;.

Outputs: the &lt;b&gt;pseudo-mask&lt;/b&gt; (uint8: 1 building, 0 background, 255 ignore), which 'Train building model' takes directly as its label raster; the &lt;b&gt;CAM&lt;/b&gt; raster (AdvCAM, 0..1) for inspection; a JSON &lt;b&gt;report&lt;/b&gt; of the steps.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Weak labels (points, boxes or tagged areas)</source>
      <translation>弱标注（点、框或带标记的区域）</translation>
    </message>
    <message>
      <source>Tag field of areas (yes/no; empty: polygons are boxes)</source>
      <translation>区域标记字段（yes/no；留空：多边形视为框）</translation>
    </message>
    <message>
      <source>Classifier backbone</source>
      <translation>分类器骨干网络</translation>
    </message>
    <message>
      <source>Classifier epochs</source>
      <translation>分类器训练轮数</translation>
    </message>
    <message>
      <source>Pseudo-mask</source>
      <translation>伪掩膜</translation>
    </message>
    <message>
      <source>CAM</source>
      <translation>类激活图（CAM）</translation>
    </message>
    <message>
      <source>AdvCAM iterations</source>
      <translation>AdvCAM 迭代次数</translation>
    </message>
    <message>
      <source>AdvCAM step</source>
      <translation>AdvCAM 步长</translation>
    </message>
    <message>
      <source>CAM threshold</source>
      <translation>CAM 阈值</translation>
    </message>
    <message>
      <source>Foreground confidence</source>
      <translation>前景置信度</translation>
    </message>
    <message>
      <source>Background confidence</source>
      <translation>背景置信度</translation>
    </message>
    <message>
      <source>CRF iterations</source>
      <translation>CRF 迭代次数</translation>
    </message>
    <message>
      <source>Refine with dense CRF</source>
      <translation>用全连接 CRF 精修</translation>
    </message>
    <message>
      <source>Sharpens a building probability map along the image's edges with a fully connected CRF (Krähenbühl &amp; Koltun): pixels that look alike and lie close together get the same label.

&lt;b&gt;Input raster&lt;/b&gt;: the image the probabilities were computed on (its first three bands, stretched 2-98%).
&lt;b&gt;Building probability&lt;/b&gt;: float 0..1 (negative = nodata) or uint8 0..254 (255 = nodata), on the image's grid, e.g. the probability output of 'Extract buildings' or a heatmap.
Advanced: &lt;b&gt;iterations&lt;/b&gt; of mean-field inference (5), &lt;b&gt;smoothness kernel&lt;/b&gt; width in px (3), &lt;b&gt;appearance kernel&lt;/b&gt; width in px (20) and colour distance (15 of 255) and weight (4), the &lt;b&gt;threshold&lt;/b&gt; on the refined probability (0.5), and the &lt;b&gt;tile size&lt;/b&gt; and &lt;b&gt;overlap&lt;/b&gt; of the streaming (each tile keeps only its core, so there are no seams).

Outputs: &lt;b&gt;refined mask&lt;/b&gt; (uint8: 1 building, 0 background, 255 nodata) and optionally the &lt;b&gt;refined probability&lt;/b&gt; (float32).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Refined mask</source>
      <translation>精修后的掩膜</translation>
    </message>
    <message>
      <source>Refined probability</source>
      <translation>精修后的概率</translation>
    </message>
    <message>
      <source>Iterations</source>
      <translation>迭代次数</translation>
    </message>
    <message>
      <source>Smoothness kernel width (px)</source>
      <translation>平滑核宽度（像素）</translation>
    </message>
    <message>
      <source>Appearance kernel width (px)</source>
      <translation>外观核宽度（像素）</translation>
    </message>
    <message>
      <source>Appearance colour distance</source>
      <translation>外观颜色距离</translation>
    </message>
    <message>
      <source>Appearance kernel weight</source>
      <translation>外观核权重</translation>
    </message>
    <message>
      <source>Write a torchrun command for N processes instead of training (0: train here)</source>
      <translation>生成 N 个进程的 torchrun 命令而不在此训练（0：在此训练）</translation>
    </message>
    <message>
      <source>Choose at least one output: building mask, probability or polygons.</source>
      <translation>请至少选择一个输出：建筑物掩膜、概率或多边形。</translation>
    </message>
    <message>
      <source>Give either local Dask workers or a scheduler address, not both.</source>
      <translation>请只给出本地 Dask 工作进程数或调度器地址之一，不要同时给出。</translation>
    </message>
    <message>
      <source>The tile overlap must be at most half the tile size ({} px).</source>
      <translation>瓦片重叠最多为瓦片大小的一半（{} 像素）。</translation>
    </message>
  </context>
</TS>