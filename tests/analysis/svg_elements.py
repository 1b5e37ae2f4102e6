#!/usr/bin/python3
"""Reads an SVG file with a real XML parser (xml.etree) and prints, as JSON, what a plot test
asserts on: the plot area (the clipPath rectangle), the data elements drawn inside it (circles,
squares, diamonds, crosses and line paths with their pixel coordinates and colours), the legend
labels and every text label (a <tspan> superscript written as "^"). Exit 1 when the file does
not parse or its root is not <svg>."""
import json
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def pairs(values):
    return [[values[i], values[i + 1]] for i in range(0, len(values) - 1, 2)]


def text_of(element):
    out = element.text or ""
    for child in element:
        out += "^" + (child.text or "") + (child.tail or "")
    return out


def data_element(e):
    tag = e.tag.replace(NS, "")
    if tag == "circle":
        return {"kind": "circle", "points": [[float(e.get("cx")), float(e.get("cy"))]],
                "color": e.get("fill")}
    if tag == "rect":
        r = float(e.get("width")) / 2
        return {"kind": "square", "points": [[float(e.get("x")) + r, float(e.get("y")) + r]],
                "color": e.get("fill")}
    if tag == "polygon":
        corners = pairs(numbers(e.get("points")))
        centre = [sum(c[0] for c in corners) / 4, sum(c[1] for c in corners) / 4]
        return {"kind": "diamond", "points": [centre], "color": e.get("fill")}
    if tag == "path" and e.get("fill") == "none":
        return {"kind": "line", "points": pairs(numbers(e.get("d"))), "color": e.get("stroke"),
                "dashed": e.get("stroke-dasharray") is not None}
    if tag == "path":
        ends = pairs(numbers(e.get("d")))
        centre = [sum(c[0] for c in ends) / 4, sum(c[1] for c in ends) / 4]
        return {"kind": "cross", "points": [centre], "color": e.get("stroke")}
    return {"kind": tag, "points": [], "color": None}


def main():
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except ET.ParseError as error:
        print(error, file=sys.stderr)
        return 1
    if root.tag != NS + "svg":
        return 1
    clip = root.find(f".//{NS}clipPath/{NS}rect")
    area = None
    if clip is not None:
        x, y = float(clip.get("x")), float(clip.get("y"))
        area = [x, y, x + float(clip.get("width")), y + float(clip.get("height"))]
    data = []
    for group in root.iter(NS + "g"):
        if group.get("clip-path"):
            data += [data_element(e) for e in group]
    texts = [text_of(t) for t in root.iter(NS + "text")]
    legend = [text_of(t) for t in root.iter(NS + "text") if t.get("font-size") == "11"]
    print(json.dumps({"area": area, "data": data, "texts": texts, "legend_and_bar": legend,
                      "gradient": root.find(f".//{NS}linearGradient") is not None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
