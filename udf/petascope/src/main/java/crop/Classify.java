/*
 * petascope (rasdaman enterprise) WCPS UDF for crop.classify.
 *
 * petascope maps the WCPS call crop.classify($c) to this class (package = UDF namespace, class =
 * capitalised function name) and calls handle() with the translated arguments. The class is kept thin:
 * it emits the rasql call of the registered rasql UDF and describes the result: the input's grid, axes
 * and CRS unchanged (the UDF returns the input's spatial domain, not re-based), one uint8 range field
 * "crop_class" with nil value 0. So
 *
 *   for $c in (S2_2018) return encode(crop.classify($c[E(677400:679900),N(5834260:5836760)]), "image/tiff")
 *
 * returns a georeferenced crop map. Built by udf/petascope/build.sh against the installation's petascope.
 */
package crop;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.rasdaman.domain.cis.NilValue;
import petascope.exceptions.ExceptionCode;
import petascope.exceptions.WCPSException;
import petascope.wcps.metadata.model.RangeField;
import petascope.wcps.metadata.model.WcpsCoverageMetadata;
import petascope.wcps.result.WcpsResult;

public class Classify {

    /** The rasql UDF this class calls (registered by `cropcube rasdaman deploy`). */
    public static final String RASQL_FUNCTION = "crop.classify";
    /** Name of the single range field of the result. */
    public static final String RANGE_NAME = "crop_class";
    /** OGC name of rasdaman's char (uint8) cell type, as petascope's TypeResolverUtil writes it. */
    public static final String RANGE_DATA_TYPE = "unsignedByte";
    /** Class 0 means "no parcel / no data". */
    public static final String NIL_VALUE = "0";

    /** The rasql text of the call: crop.classify(<argument>). */
    public static String rasql(String argument) {
        return RASQL_FUNCTION + "(" + argument + ")";
    }

    public WcpsResult handle(List<WcpsResult> arguments) throws WCPSException {
        if (arguments == null || arguments.size() != 1) {
            throw new WCPSException(ExceptionCode.InvalidRequest,
                    RASQL_FUNCTION + " takes exactly one coverage argument (a 2-D E/N coverage with 28 bands)");
        }
        WcpsResult input = arguments.get(0);
        WcpsCoverageMetadata metadata = input.getMetadata();
        if (metadata == null || metadata.getAxes() == null || metadata.getAxes().size() != 2) {
            throw new WCPSException(ExceptionCode.InvalidRequest,
                    RASQL_FUNCTION + " in WCPS takes a 2-D (E, N) coverage with 28 bands (7 dates x 4 bands);"
                    + " classify 3-D (t, E, N) coverages with the rasql UDF directly");
        }
        List<NilValue> nil = new ArrayList<>(Collections.singletonList(new NilValue(NIL_VALUE, "no parcel / no data")));
        RangeField classes = new RangeField(RANGE_DATA_TYPE, RANGE_NAME,
                "crop class index (BRP classes of the cropcube bundle), 0 = no data",
                nil, RangeField.UOM_CODE, null, null);
        List<RangeField> rangeFields = new ArrayList<>();
        rangeFields.add(classes);
        metadata.setRangeFields(rangeFields);
        List<List<NilValue>> nilValues = new ArrayList<>();
        nilValues.add(nil);
        metadata.setNilValues(nilValues);
        return new WcpsResult(metadata, rasql(input.getRasql()));
    }
}
