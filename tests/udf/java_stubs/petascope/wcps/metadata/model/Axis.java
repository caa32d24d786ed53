package petascope.wcps.metadata.model;

public class Axis {
    private final String label;

    public Axis(String label) { this.label = label; }

    public String getLabel() { return label; }
}
