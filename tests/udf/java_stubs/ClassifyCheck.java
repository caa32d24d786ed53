import crop.Classify;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import petascope.exceptions.WCPSException;
import petascope.wcps.metadata.model.Axis;
import petascope.wcps.metadata.model.RangeField;
import petascope.wcps.metadata.model.WcpsCoverageMetadata;
import petascope.wcps.result.WcpsResult;

/** Runs crop.Classify.handle on a 2-D and a 3-D coverage and prints what it produced. */
public class ClassifyCheck {
    public static void main(String[] args) throws Exception {
        List<Axis> axes = new ArrayList<>(Arrays.asList(new Axis("E"), new Axis("N")));
        String crs = "http://localhost:8080/def/crs/EPSG/0/32631";
        List<RangeField> bands = new ArrayList<>();
        bands.add(new RangeField("unsignedShort", "Band_1", null, new ArrayList<>(), "10^0", null, null));
        WcpsCoverageMetadata metadata = new WcpsCoverageMetadata(axes, crs, bands);
        String cutout = "c[250:499, 1000:1249]";
        WcpsResult result = new Classify().handle(Arrays.asList(new WcpsResult(metadata, cutout)));
        RangeField field = result.getMetadata().getRangeFields().get(0);
        System.out.println("rasql=" + result.getRasql());
        System.out.println("ranges=" + result.getMetadata().getRangeFields().size());
        System.out.println("field=" + field.getName() + " " + field.getDataType() + " nil="
                + field.getNodata().get(0).getValue() + " nilValues=" + result.getMetadata().getNilValues().get(0).get(0).getValue());
        System.out.println("grid_kept=" + (result.getMetadata().getAxes() == axes) + " crs=" + result.getMetadata().getCrsUri());
        List<Axis> cube = new ArrayList<>(Arrays.asList(new Axis("ansi"), new Axis("E"), new Axis("N")));
        try {
            new Classify().handle(Arrays.asList(new WcpsResult(new WcpsCoverageMetadata(cube, crs, bands), "c")));
            System.out.println("3d=accepted");
        } catch (WCPSException e) {
            System.out.println("3d=" + e.getMessage());
        }
    }
}
